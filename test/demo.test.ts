// `npm run demo` (scripts/demo.ts): embedded PostgreSQL + rekey + proxy, password rotations under a
// client load. Run as a user runs it (a child process), with --seconds, and stopped by Ctrl-C (SIGINT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

const demoDirs = () => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('rekey-demo-')));

function demo(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const summary = (stdout: string) => {
  const m = /rekey demo: (\d+) rotations, (\d+) transactions, (\d+) failures in [\d.]+ s/.exec(stdout);
  assert.ok(m, `no summary line in: ${stdout}`);
  return { rotations: Number(m[1]), transactions: Number(m[2]), failures: Number(m[3]) };
};

test('npm run demo -- --seconds 8: rotations under load, 0 failures, progress lines, clean exit', async () => {
  const before = demoDirs();
  const r = await demo(['--seconds', '8', '--every', '2']);
  assert.equal(r.code, 0, r.stderr);
  const s = summary(r.stdout);
  console.log(`demo: ${s.rotations} rotations, ${s.transactions} transactions, ${s.failures} failures`);
  assert.ok(s.rotations > 0);
  assert.ok(s.transactions > 0);
  assert.equal(s.failures, 0);
  assert.match(r.stderr, /transactions \d+ {2}failures 0 {2}rotations \d+ {2}AWSCURRENT [0-9a-f]{8}/);
  assert.deepEqual([...demoDirs()].filter((d) => !before.has(d)), [], 'the temporary directory was removed');
});

test('the demo stops cleanly on Ctrl-C (SIGINT) after a rotation', async () => {
  let sent = false;
  const r = await demo(['--every', '1'], (text, child) => {
    if (!sent && /rotations [1-9]/.test(text)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  assert.equal(r.code, 0, r.stderr);
  const s = summary(r.stdout);
  assert.ok(s.rotations >= 1);
  assert.equal(s.failures, 0);
});

test('bad arguments: usage and exit code 2', async () => {
  const r = await demo(['--clients', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /usage: npm run demo \[-- --seconds N\] \[--clients 1\.\.64\] \[--every SECONDS>=0\.5\]/);
});
