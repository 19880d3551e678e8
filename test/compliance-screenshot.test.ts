// Issue 22's must-show: the compliance HTML report opened in headless Chromium. A real server with
// a key and a secret (so the report has findings and a key section), `rekey compliance report
// --output html` through the CLI, then `chromium --headless --screenshot`: the PNG is written under
// .artifacts/ (gitignored; CI keeps it) and must be a real page, not a blank or an error page: a
// valid PNG of the asked size and of some weight (a blank page of that size is a few kilobytes),
// checked on its bytes (no image library); and Chromium's DOM of the page (--dump-dom) is the
// report's (its title, the findings table, the signature line).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { startTestServer } from './helpers/server.ts';
import { rekeyCli } from './helpers/rekey-cli.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url));
const CI = process.env.CI === 'true';

function run(cmd: string, args: string[], ms: number): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: ms });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

test('the compliance report\'s HTML page renders in headless Chromium (screenshot in .artifacts/)', {
  timeout: 180_000, skip: !CHROMIUM && !CI ? 'chromium is not installed (apt-get install -y chromium)' : false,
}, async (t) => {
  assert.ok(CHROMIUM, 'chromium is installed (.ci/run installs it)');
  const s = await startTestServer();
  t.after(() => s.cleanup());
  await s.kmsClient().send(new CreateKeyCommand({ Description: 'app key' }));
  await s.secretsClient().send(new CreateSecretCommand({ Name: 'app/db', SecretString: 'x' }));
  mkdirSync(ARTIFACTS, { recursive: true });
  const html = join(ARTIFACTS, 'compliance-report.html');
  const png = join(ARTIFACTS, 'compliance-report.png');
  rmSync(png, { force: true });
  const r = await rekeyCli(['compliance', 'report', '--standard', 'pci-dss', '--output', 'html', '--out', html, '--endpoint', s.url]);
  assert.equal(r.status, 0, r.err);
  assert.match(readFileSync(html, 'utf8'), /<h1>rekey compliance report: pci-dss<\/h1>/);

  const profile = mkdtempSync(join(tmpdir(), 'rekey-chromium-'));
  t.after(() => rmSync(profile, { recursive: true, force: true }));
  const started = Date.now();
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
  const c = await run(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${profile}`,
    '--window-size=1280,1600', `--screenshot=${png}`, `file://${html}`], 120_000);
  t.diagnostic(`chromium: ${Date.now() - started} ms, exit ${c.code}`);
  assert.ok(existsSync(png), `no screenshot written: ${c.err.slice(-2000)}`);
  const bytes = readFileSync(png);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [1280, 1600], 'the asked window size');
  // a blank white page of this size compresses to a few kilobytes; text, tables and colours do not
  const size = statSync(png).size;
  t.diagnostic(`screenshot ${png}: ${size} bytes`);
  assert.ok(size > 30_000, `the screenshot has content (${size} bytes)`);
  // what Chromium parsed and laid out is the report, not an error page
  const dom = await run(CHROMIUM!, ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`, '--dump-dom', `file://${html}`], 120_000);
  assert.match(dom.out, /<h1>rekey compliance report: pci-dss<\/h1>/, dom.err.slice(-2000));
  assert.match(dom.out, /<h2>Findings<\/h2>/);
  assert.match(dom.out, /Signed \(Ed25519\) with the audit signing key/);
});
