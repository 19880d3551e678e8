// `rekey operator ...`: maintenance on a data directory.
import type { Config } from '../config/config.ts';
import { ConfigurationError } from '../errors.ts';
import type { RootKeyConfig } from '../storage/rootkey.ts';
import { rotateRootKey } from '../storage/open.ts';
import { print, type OutputFormat } from './output.ts';

export async function runRotateRoot(cfg: Readonly<Config>, o: { newKeyFile?: string; newKeyEnv?: string; newPassphraseEnv?: string }, out: { write(text: string): void; format: OutputFormat } = { write: (t) => void process.stdout.write(t), format: 'table' }): Promise<void> {
  const given = [o.newKeyFile, o.newKeyEnv, o.newPassphraseEnv].filter((x) => x !== undefined);
  if (given.length !== 1) throw new ConfigurationError('give exactly one of --new-key-file, --new-key-env, --new-passphrase-env');
  const next: RootKeyConfig = o.newKeyFile !== undefined ? { source: 'file', path: o.newKeyFile }
    : o.newKeyEnv !== undefined ? { source: 'env', variable: o.newKeyEnv }
    : { source: 'passphrase', variable: o.newPassphraseEnv! };
  await rotateRootKey({
    backend: cfg.storage.backend, dataDir: cfg.dataDir, rootKey: cfg.rootKey,
    ...(cfg.storage.postgresUrl ? { postgresUrl: cfg.storage.postgresUrl } : {}),
  }, next);
  print(out.write, out.format, { rotated: true, rootKeySource: next.source },
    () => `rekey: root key rotated; the keyring is now wrapped by the ${next.source} root key. Update the server's configuration before the next start.\n`);
}
