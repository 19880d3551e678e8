// `rekey server`: starts everything, prints where to connect, shuts down cleanly on signals.
import type { Config } from '../config/config.ts';
import { startServer } from '../server/start.ts';
import { VERSION } from '../version.ts';
import { ConfigurationError } from '../errors.ts';

/** A port already taken is a sentence naming the flag, not a stack trace. */
export function listenError(e: unknown, cfg: Pick<Config, 'host' | 'port'>): unknown {
  const err = e as NodeJS.ErrnoException & { port?: number; address?: string };
  if (err?.code !== 'EADDRINUSE') return e;
  if (err.port === cfg.port) return new ConfigurationError(`port ${cfg.port} on ${cfg.host} is already in use (another rekey server?): choose another with --port or REKEY_PORT`);
  return new ConfigurationError(`${err.address ?? ''}:${err.port ?? ''} is already in use: a proxy target's listen port (proxy.targets[].listen, docs/PROXY.md)`);
}

/** Lines framed by asterisks, every row the same width. */
export function box(text: readonly string[]): string[] {
  const width = Math.max(...text.map((t) => t.length));
  const edge = `  ${'*'.repeat(width + 6)}`;
  return [edge, ...text.map((t) => `  *  ${t.padEnd(width)}  *`), edge];
}

export const DEV_MODE_WARNING = box([
  'WARNING: DEV MODE. The root key was generated into the data directory',
  '(dev-root.key). Anyone who can read that file can read every key in rekey.',
  'Never use dev mode for real data: set REKEY_ROOT_KEY_FILE, REKEY_ROOT_KEY or',
  'REKEY_ROOT_PASSPHRASE.',
]);

export async function runServer(cfg: Readonly<Config>): Promise<void> {
  const out = process.stdout;
  // before the first log line, so it is not scrolled away by start-up logging
  if (cfg.dev) out.write(['', ...DEV_MODE_WARNING, ''].join('\n') + '\n');
  const s = await startServer(cfg).catch((e: unknown) => {
    throw listenError(e, cfg);
  });
  const lines = [
    '',
    `rekey ${VERSION} is listening on ${s.url}`,
    `  region:      ${cfg.region}`,
    `  account id:  ${cfg.accountId}`,
    `  storage:     ${cfg.storage.backend}${cfg.storage.backend === 'sqlite' ? ` (${cfg.dataDir}/rekey.db)` : ''}`,
  ];
  const ca = s.caBundlePath ? ` --ca-bundle ${s.caBundlePath}` : '';
  if (s.certs) {
    const st = await s.certs.status(1);
    lines.push(`  tls:         ${cfg.tls.mode}, certificate ${st.server.serial} valid until ${st.server.notAfter}${s.caBundlePath ? `\n  CA bundle:   ${s.caBundlePath}` : ''}`);
  } else if (!cfg.dev) {
    lines.push('  tls:         OFF (--insecure-http): requests and credentials cross the network in clear');
  }
  for (const t of s.proxy?.status() ?? []) {
    lines.push(`  proxy:       ${t.name} on ${t.listen.host}:${t.listen.port} -> ${t.upstream.host}:${t.upstream.port} (${t.mode} mode${s.proxy!.tls ? ', TLS' : ''})`);
  }
  if (cfg.dev || s.bootstrap.created) {
    lines.push(
      '',
      cfg.dev ? '  Dev credentials (bootstrap administrator):' : '  Bootstrap administrator credentials (shown once; store them now):',
      `    export AWS_ACCESS_KEY_ID=${s.bootstrap.rec.accessKeyId}`,
      `    export AWS_SECRET_ACCESS_KEY=${s.bootstrap.rec.secretAccessKey}`,
      // AWS CLI v1 (common on machines) reads AWS_DEFAULT_REGION only
      `    export AWS_REGION=${cfg.region} AWS_DEFAULT_REGION=${cfg.region}`,
      '',
      '  Then try:',
      `    aws kms create-key --description "my first key" --endpoint-url ${s.url}${ca}`,
    );
  }
  lines.push('');
  out.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`rekey: ${signal} received, shutting down\n`);
    s.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`rekey: error during shutdown: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
