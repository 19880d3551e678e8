// Which src/ files one Encrypt request crosses on a running server (issue 12's "the Encrypt path
// crosses fewer files"), measured, not read: V8's precise coverage (function call counts) is reset
// after a warm-up Encrypt, one more Encrypt is sent, and every src/ file with a function that ran
// is listed. Three rounds; a file counts when it ran in all three (timers of the job engine or the
// audit group commit that happen to fire are left out that way).
//
//   node --import tsx scripts/encrypt-path.ts [repo root, default .]
//
// The root may be another checkout of rekey (e.g. `git archive 5a31a2c | tar -x -C /tmp/old` with a
// node_modules symlink): its test/helpers/server.ts starts the server in this process.
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';

const root = resolve(process.argv[2] ?? '.');
const srcUrl = pathToFileURL(resolve(root, 'src')).href + '/';
const { startTestServer } = (await import(pathToFileURL(resolve(root, 'test/helpers/server.ts')).href)) as typeof import('../test/helpers/server.ts');

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });

const s = await startTestServer();
try {
  const kms = s.kmsClient();
  const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const encrypt = () => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('path') }));
  await encrypt();
  await encrypt();
  const rounds: Set<string>[] = [];
  for (let round = 0; round < 3; round++) {
    await session.post('Profiler.takePreciseCoverage'); // resets the counts
    await encrypt();
    const { result } = await session.post('Profiler.takePreciseCoverage');
    const ran = new Set(result
      .filter((script) => script.url.startsWith(srcUrl) && script.functions.some((f) => f.ranges.some((r) => r.count > 0)))
      .map((script) => script.url.slice(srcUrl.length).split('?')[0]!));
    rounds.push(ran);
    // REKEY_PATH_FUNCTIONS=1: also the functions that ran, per file (for finding hops)
    if (process.env['REKEY_PATH_FUNCTIONS'] && round === 2) {
      for (const script of result) {
        if (!script.url.startsWith(srcUrl)) continue;
        const names = script.functions.filter((f) => f.ranges.some((r) => r.count > 0)).map((f) => f.functionName || `@${f.ranges[0]!.startOffset}`);
        if (names.length > 0) process.stdout.write(`  ${script.url.slice(srcUrl.length)}: ${[...new Set(names)].join(', ')}\n`);
      }
    }
  }
  const files = [...rounds[0]!].filter((f) => rounds.every((r) => r.has(f))).sort();
  process.stdout.write(`${files.join('\n')}\n${files.length} src/ files on the Encrypt path (${root})\n`);
} finally {
  await s.cleanup();
  session.disconnect();
}
