import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { readPublicKey } from '../audit/digest.ts';
import { testBarrier } from '../audit/testing.ts';
import { complianceRoutes } from '../http/admin-compliance.ts';
import { adminTestApp } from '../http/testing.ts';
import { TestClock, testIam } from '../iam/testing.ts';
import { ComplianceService } from '../compliance/service.ts';
import { rulesOf } from '../compliance/standards.ts';
import { ACCOUNT, NOW, REGION, VIOLATIONS, seedState } from '../compliance/testing.ts';
import { registerComplianceCommands } from './compliance-command.ts';

test('rekey compliance report --output json|html against a real server; compliance verify accepts it and refuses a modified copy', async (tc) => {
  const { barrier } = await testBarrier();
  const seeded = await seedState(barrier, 'bad');
  const compliance = new ComplianceService({ barrier, region: REGION, accountId: ACCOUNT, ports: seeded.ports, clock: () => NOW });
  // the CLI signs with the real time, so the server's IAM clock is the real time too
  const t = await testIam({ clock: new TestClock(Date.now()) });
  const { app, audit } = await adminTestApp(t, complianceRoutes(compliance, barrier, { region: t.iam.region, accountId: t.iam.accountId }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  tc.after(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const env = { AWS_ACCESS_KEY_ID: t.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: t.admin.secretAccessKey, REKEY_ENDPOINT: url };

  let out = '';
  let failed = 0;
  const run = async (...args: string[]) => {
    out = '';
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerComplianceCommands(program, { out: (s) => { out += s; }, env, fail: () => { failed++; } });
    await program.parseAsync(args, { from: 'user' });
    return out;
  };

  const report = JSON.parse(await run('compliance', 'report', '--standard', 'pci-dss', '--output', 'json', '--from', '2030-01-01T00:00:00Z')) as {
    standard: string; window: { from: string; to: string }; findings: { ruleId: string; resource: string }[]; signature: { publicKeyFingerprint: string };
  };
  assert.equal(report.standard, 'pci-dss');
  assert.deepEqual(report.window, { from: '2030-01-01T00:00:00.000Z', to: NOW.toISOString() });
  const pci = rulesOf('pci-dss');
  assert.deepEqual(report.findings.map((f) => `${f.ruleId} ${f.resource}`).sort(), VIOLATIONS.filter(([id]) => pci.includes(id)).map(([id, arn]) => `${id} ${arn}`).sort());
  // audited as rekey:GetComplianceReport with its parameters
  const ev = audit.events.find((e) => e.eventName === 'GetComplianceReport');
  assert.ok(ev, `events: ${audit.events.map((e) => e.eventName).join(', ')}`);
  assert.equal((ev.requestParameters as Record<string, unknown>)['standard'], 'pci-dss');

  const dir = mkdtempSync(join(tmpdir(), 'rekey-compliance-'));
  const pem = join(dir, 'audit.pem');
  writeFileSync(pem, (await readPublicKey(barrier))!.pem);
  const json = join(dir, 'report.json');
  assert.match(await run('compliance', 'report', '--standard', 'hipaa', '--out', json), /report\.json: hipaa report, \d+ finding\(s\), signed by [0-9a-f]{64}\n$/);
  assert.match(await run('compliance', 'verify', json, '--public-key', pem), /^compliance verify: OK \(hipaa report generated 2030-06-01T00:00:00\.000Z, \d+ finding\(s\), signed by [0-9a-f]{64}\)\n$/);
  assert.equal(failed, 0);

  // one finding removed: refused, exit status set
  const doc = JSON.parse(readFileSync(json, 'utf8')) as { findings: unknown[] };
  doc.findings.shift();
  const edited = join(dir, 'edited.json');
  writeFileSync(edited, JSON.stringify(doc, null, 2));
  assert.equal(await run('compliance', 'verify', edited, '--public-key', pem), 'compliance verify: REFUSED (bad-signature): the signature does not match: the report was modified after it was signed\n');
  assert.equal(failed, 1);

  // the HTML page carries the signed report: it verifies as it is, not once edited
  const html = join(dir, 'report.html');
  await run('compliance', 'report', '--standard', 'sp800-57', '--output', 'html', '--out', html);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /^<!doctype html>/);
  assert.match(await run('compliance', 'verify', html, '--public-key', pem), /^compliance verify: OK \(sp800-57 report/);
  writeFileSync(html, page.replace('"kms-rotation-disabled"', '"kms-rotation-disabled-x"'));
  assert.match(await run('compliance', 'verify', html, '--public-key', pem), /^compliance verify: REFUSED \(bad-signature\)/);
  assert.equal(failed, 2);

  // bad input: a typed error, nothing printed
  await assert.rejects(run('compliance', 'report', '--standard', 'pci-dss', '--from', 'yesterday'), { code: 'ValidationException' });
  await assert.rejects(run('compliance', 'verify', join(dir, 'missing.json'), '--public-key', pem), { name: 'ValidationException', message: `report: cannot read ${join(dir, 'missing.json')}` });
});
