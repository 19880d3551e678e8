// Compliance (docs/COMPLIANCE.md) through the real server: `rekey compliance report` over a key made
// with the SDK, the report verified offline with the audit public key, and the scheduled evaluation job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { startTestServer, TEST_CREDS } from './helpers/server.ts';
import { until } from './helpers/db-node.ts';
import { registerComplianceCommands } from '../src/cli/compliance-command.ts';
import { readPublicKey } from '../src/audit/digest.ts';
import { latestEvaluation } from '../src/compliance/job.ts';

test('rekey compliance report over the real server: a key without rotation is a finding with its evidence; the report verifies; the scheduled job evaluates', async (tc) => {
  const s = await startTestServer();
  tc.after(() => s.cleanup());
  const kms = s.kmsClient();
  const key = (await kms.send(new CreateKeyCommand({ Description: 'compliance' }))).KeyMetadata!;
  await kms.send(new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from('x') }));
  await s.audit.settled(); // group commit

  const dir = mkdtempSync(join(tmpdir(), 'rekey-compliance-'));
  const env: Record<string, string> = { AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, REKEY_ENDPOINT: s.url };
  if (s.ca) {
    writeFileSync(join(dir, 'ca.pem'), s.ca);
    env['AWS_CA_BUNDLE'] = join(dir, 'ca.pem');
  }
  let out = '';
  let failed = 0;
  const run = async (...args: string[]) => {
    out = '';
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerComplianceCommands(program, { out: (t) => { out += t; }, env, fail: () => { failed++; } });
    await program.parseAsync(args, { from: 'user' });
    return out;
  };

  const file = join(dir, 'report.json');
  await run('compliance', 'report', '--standard', 'pci-dss', '--output', 'json', '--out', file);
  const report = JSON.parse(readFileSync(file, 'utf8')) as {
    findings: { ruleId: string; resource: string; evidence: Record<string, unknown> }[];
    keys: { arn: string; usage: { principal: string; operations: Record<string, number> }[]; rotationEvents: { eventName: string; eventID: string }[] }[];
  };
  const off = report.findings.find((f) => f.ruleId === 'kms-rotation-disabled' && f.resource === key.Arn);
  assert.ok(off, JSON.stringify(report.findings.map((f) => f.ruleId)));
  const k = report.keys.find((x) => x.arn === key.Arn)!;
  const created = k.rotationEvents.find((e) => e.eventName === 'CreateKey');
  assert.ok(created);
  assert.deepEqual(off.evidence['auditEventIds'], [created.eventID]);
  assert.deepEqual(k.usage.map((u) => u.operations), [{ Encrypt: 1 }]);
  assert.ok(report.findings.some((f) => f.ruleId === 'audit-not-verified'), 'the trail was never verified');

  const pem = join(dir, 'audit.pem');
  writeFileSync(pem, (await readPublicKey(s.barrier))!.pem);
  assert.match(await run('compliance', 'verify', file, '--public-key', pem), /^compliance verify: OK \(pci-dss report/);
  assert.equal(failed, 0);

  // the scheduled evaluation: one compliance.evaluate job per period (default 60 minutes), its result
  // stored. The period that holds the server's start may have been evaluated before the key existed;
  // a scan two periods later creates the next job (run here or by the server's own worker).
  const later = new Date(Date.now() + 2 * 3_600_000);
  const period = new Date(Math.floor(later.getTime() / 3_600_000) * 3_600_000).toISOString();
  await s.jobs.tick(later);
  const latest = await until('the evaluation of the later period', async () => {
    const l = await latestEvaluation(s.barrier);
    return l?.period === period ? l : undefined;
  }, 30_000);
  assert.ok(latest.findings.some((f) => f.ruleId === 'kms-rotation-disabled' && f.resource === key.Arn));
  // findings feed the alarms (issue 22 item 2): rekey_compliance_findings > 0 puts compliance-findings in ALARM
  const changed = await s.alarms!.evaluate();
  assert.ok(changed.some((c) => c.name === 'compliance-findings' && c.to === 'ALARM'), JSON.stringify(changed));
});
