import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DigestSigner, parsePublicKeyPem } from '../audit/digest.ts';
import { testBarrier } from '../audit/testing.ts';
import { generateEd25519, publicKeyToPem } from '../crypto/sign.ts';
import { gatherFacts } from './facts.ts';
import { escapeHtml, renderHtml } from './html.ts';
import { type ComplianceReport, REPORT_SCRIPT, buildReport, parseReportFile, signReport, verifyReport } from './report.ts';
import { DEFAULT_SETTINGS } from './settings.ts';
import { rulesOf } from './standards.ts';
import { ACCOUNT, NOW, REGION, VIOLATIONS, keyArn, seedState } from './testing.ts';

async function signedReport(standard: 'pci-dss' | 'hipaa' | 'sp800-57' = 'pci-dss') {
  const { barrier } = await testBarrier();
  const seeded = await seedState(barrier, 'bad');
  const facts = await gatherFacts({ barrier, region: REGION, accountId: ACCOUNT, ports: seeded.ports, from: new Date(NOW.getTime() - 90 * 86_400_000), to: NOW });
  const signer = await DigestSigner.loadOrCreate(barrier);
  return { report: signReport(buildReport(facts, standard, DEFAULT_SETTINGS, NOW), signer), key: signer.publicKey, seeded };
}

const clone = (r: ComplianceReport): ComplianceReport => JSON.parse(JSON.stringify(r)) as ComplianceReport;

test('a signed report verifies with the audit public key; a modified one is refused', async () => {
  const { report, key } = await signedReport();
  assert.equal(verifyReport(report, key), 'ok');
  assert.equal(verifyReport(JSON.parse(JSON.stringify(report, null, 2)), key), 'ok'); // formatting does not matter
  const dropped = clone(report);
  dropped.findings.pop();
  assert.equal(verifyReport(dropped, key), 'bad-signature');
  const edited = clone(report);
  edited.keys[0]!.rotations[0]!.createdAt = '2030-05-31T00:00:00.000Z';
  assert.equal(verifyReport(edited, key), 'bad-signature');
  const added = clone(report) as ComplianceReport & { note?: string };
  added.note = 'all fine';
  assert.equal(verifyReport(added, key), 'bad-signature');
  const { signature: _s, ...unsigned } = report;
  assert.equal(verifyReport(unsigned, key), 'unsigned');
  const other = generateEd25519();
  assert.equal(verifyReport(report, parsePublicKeyPem(publicKeyToPem(other.publicKeySpki))), 'wrong-key');
  assert.equal(verifyReport({ hello: 1 }, key), 'malformed');
});

test('the report of a standard lists the findings of its rules, with that standard\'s clauses', async () => {
  const { report } = await signedReport('sp800-57');
  const rules = rulesOf('sp800-57');
  assert.deepEqual(report.findings.map((f) => f.ruleId).sort(), VIOLATIONS.filter(([id]) => rules.includes(id)).map(([id]) => id).sort());
  assert.ok(report.findings.every((f) => f.clauses.every((c) => c.startsWith('SP 800-57'))));
  const pci = (await signedReport('pci-dss')).report;
  assert.equal(pci.summary.findings, VIOLATIONS.filter(([id]) => rulesOf('pci-dss').includes(id)).length);
  assert.equal(pci.summary.compliant, false);
  // per key: rotation history and who used it (from the audit trail)
  const k = pci.keys.find((x) => x.arn === keyArn('aaaa0001'))!;
  assert.equal(k.rotations.length, 1);
  assert.deepEqual(k.rotationEvents.map((e) => e.eventName), ['DisableKeyRotation']);
  assert.deepEqual(k.usage.map((u) => [u.principal, u.operations, u.sourceIPAddresses]), [[`arn:aws:iam::${ACCOUNT}:user/app`, { Decrypt: 1, Encrypt: 1 }, ['10.0.0.2', '10.0.0.1']]]);
});

test('HTML: self-contained, escaped, and carries the signed report (a modified page is refused)', async () => {
  const { report, key } = await signedReport();
  // a hostile value in the report (e.g. a principal named in a key policy) stays text
  const hostile = clone(report);
  hostile.findings[0]!.message = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
  const page = renderHtml(hostile);
  assert.equal(page.includes('<script>alert(1)'), false);
  assert.equal(page.includes('<img src=x'), false);
  assert.ok(page.includes(escapeHtml('<img src=x onerror=alert(2)>')));
  assert.equal(/<(link|img|iframe)\b|src=|href=|url\(/i.test(renderHtml(report).replace(REPORT_SCRIPT, '')), false, 'no external assets');
  assert.equal((page.match(/<script/g) ?? []).length, 1, 'one non-executed JSON block only');
  assert.deepEqual(parseReportFile(page), hostile);

  const good = renderHtml(report);
  assert.equal(verifyReport(parseReportFile(good), key), 'ok');
  const tampered = good.replace('"kms-rotation-disabled"', '"kms-rotation-disabled-x"');
  assert.notEqual(tampered, good);
  assert.equal(verifyReport(parseReportFile(tampered), key), 'bad-signature');
});
