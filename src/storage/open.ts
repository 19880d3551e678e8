// Opening a store: backend + root key + seal -> an unsealed Barrier. And root-key rotation, which
// rewraps the keyring under a new root key without rewriting any stored value.
import { existsSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { constantTimeEqual, zeroize } from '../crypto/index.ts';
import { ConfigurationError, SealedException } from '../errors.ts';
import type { Backend } from './backend.ts';
import { Barrier, initializeSeal, readSealRecord, rotateRoot } from './barrier.ts';
import { PostgresBackend } from './postgres.ts';
import { DEV_KEY_FILE, loadRootKey, rootKeyPhrase, type RootKey, type RootKeyConfig } from './rootkey.ts';
import { SqliteBackend } from './sqlite.ts';

export interface StoreOptions {
  backend: 'sqlite' | 'postgres';
  /** Holds rekey.db (sqlite) and dev-root.key (dev root key). Created 0700 if missing. */
  dataDir: string;
  postgresUrl?: string;
  /** PostgreSQL table (default rekey_kv). */
  postgresTable?: string;
  rootKey: RootKeyConfig;
  /** Where env and passphrase root keys are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface OpenedStore {
  backend: Backend;
  barrier: Barrier;
  /** True when this call created the seal (a new store). */
  initialized: boolean;
  warning?: string;
}

export interface RootRotation {
  /** Root key kind the keyring is now wrapped by. */
  kind: string;
  /** True when the old root was a dev key and its file was deleted (it no longer opens anything current). */
  removedDevKey: boolean;
  warning?: string;
}

export async function openBackend(opts: StoreOptions, create = true): Promise<Backend> {
  if (create) await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  else if (opts.backend === 'sqlite' && !existsSync(join(opts.dataDir, 'rekey.db'))) {
    throw new ConfigurationError(`no rekey store in ${opts.dataDir}: ${join(opts.dataDir, 'rekey.db')} does not exist (name the data directory with --data-dir or REKEY_DATA_DIR)`);
  }
  if (opts.backend === 'sqlite') return SqliteBackend.open(join(opts.dataDir, 'rekey.db'));
  if (opts.backend === 'postgres') {
    if (!opts.postgresUrl) throw new ConfigurationError('the postgres storage backend needs a connection URL (storage.postgresUrl)');
    return PostgresBackend.open(opts.postgresUrl, opts.postgresTable ? { table: opts.postgresTable } : {});
  }
  throw new ConfigurationError(`unknown storage backend ${JSON.stringify(opts.backend)}`);
}

export async function openStore(opts: StoreOptions): Promise<OpenedStore> {
  return unsealStore(await openBackend(opts), opts);
}

/**
 * Opens a store that must already exist, for commands that only read one (`rekey audit ...`,
 * `rekey operator rotate-root`): never creates the data directory, a database file, a seal or a
 * dev root key. A missing store is a ConfigurationError naming the directory.
 */
export async function openExistingStore(opts: StoreOptions): Promise<OpenedStore> {
  const backend = await openBackend(opts, false);
  if (!(await readSealRecord(backend).catch(async (e: unknown) => {
    await backend.close().catch(() => {});
    throw e;
  }))) {
    await backend.close().catch(() => {});
    throw new ConfigurationError(`the store in ${opts.backend === 'sqlite' ? opts.dataDir : 'storage.postgresUrl'} has not been initialized (start \`rekey server\` once, or name another store with --data-dir)`);
  }
  return unsealStore(backend, opts);
}

/** openStore on an already opened backend (closed again if unsealing fails). */
export async function unsealStore(backend: Backend, opts: Pick<StoreOptions, 'dataDir' | 'rootKey' | 'env'>): Promise<OpenedStore> {
  let root: RootKey | undefined;
  try {
    const load = () => loadRootKey(opts.rootKey, opts.dataDir, backend, opts.env ? { env: opts.env } : {});
    root = await load();
    let rec = await readSealRecord(backend);
    let initialized = false;
    if (!rec) {
      initialized = await initializeSeal(backend, root.key, root.kind, root.passphraseSalt);
      if (!initialized) {
        // Another node initialized first; a passphrase key must be re-derived with the winner's salt.
        rec = await readSealRecord(backend);
        if (root.passphraseSalt) {
          zeroize(root.key);
          root = await load();
        }
      }
    }
    const recordedKind = rec?.rootKind ?? root.kind;
    checkKind(recordedKind, root.kind);
    const barrier = await unseal(backend, root.key, recordedKind, root.kind);
    return { backend, barrier, initialized, ...(root.warning ? { warning: root.warning } : {}) };
  } catch (e) {
    await backend.close().catch(() => {});
    throw e;
  } finally {
    if (root) zeroize(root.key);
  }
}

/**
 * `rekey operator rotate-root`: unseal with the current root key, rewrap the keyring with the new
 * one (one CAS write of core/seal; no stored value is rewritten), and check the new key opens it.
 */
export async function rotateRootKey(opts: StoreOptions, newRootKey: RootKeyConfig): Promise<RootRotation> {
  const backend = await openBackend(opts, false);
  const env = opts.env ? { env: opts.env } : {};
  let oldRoot: RootKey | undefined;
  let newRoot: RootKey | undefined;
  try {
    const rec = await readSealRecord(backend);
    if (!rec) throw new ConfigurationError('this data directory has not been initialized: there is no root key to rotate');
    oldRoot = await loadRootKey(opts.rootKey, opts.dataDir, backend, env);
    checkKind(rec.rootKind, oldRoot.kind);
    newRoot = await loadRootKey(newRootKey, opts.dataDir, backend, { ...env, purpose: 'rewrap' });
    if (constantTimeEqual(oldRoot.key, newRoot.key)) throw new ConfigurationError('the new root key is the same as the current root key');
    try {
      await rotateRoot(backend, oldRoot.key, newRoot.key, newRoot.kind, newRoot.passphraseSalt);
    } catch (e) {
      throw e instanceof SealedException ? wrongRoot(rec.rootKind, oldRoot.kind) : e;
    }
    (await Barrier.unseal(backend, newRoot.key)).seal();
    let removedDevKey = false;
    if (oldRoot.kind === 'dev') {
      // The dev key now only opens old copies of the seal record; keeping it beside the data
      // would defeat the rotation.
      await unlink(join(opts.dataDir, DEV_KEY_FILE)).catch(() => {});
      removedDevKey = true;
    }
    return { kind: newRoot.kind, removedDevKey, ...(newRoot.warning ? { warning: newRoot.warning } : {}) };
  } finally {
    zeroize(oldRoot?.key, newRoot?.key);
    await backend.close();
  }
}

/** A passphrase-sealed store needs a passphrase (its salt is in the record) and vice versa. */
function checkKind(recorded: string, configured: string): void {
  if ((recorded === 'passphrase') !== (configured === 'passphrase')) {
    throw new ConfigurationError(`this data directory is sealed with ${rootKeyPhrase(recorded)}, but the configuration provides ${rootKeyPhrase(configured)}`);
  }
}

async function unseal(backend: Backend, root: Buffer, recordedKind: string, configuredKind: string): Promise<Barrier> {
  try {
    return await Barrier.unseal(backend, root);
  } catch (e) {
    throw e instanceof SealedException ? wrongRoot(recordedKind, configuredKind) : e;
  }
}

function wrongRoot(recordedKind: string, configuredKind: string): InstanceType<typeof SealedException> {
  return new SealedException(
    `the configured ${configuredKind} root key does not open this data directory's keyring (it was sealed with ${rootKeyPhrase(recordedKind)}); check the root key configuration`,
  );
}
