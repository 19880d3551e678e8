// `rekey keyserve ...`: keyrings of MariaDB keys and their Vault tokens (src/http/admin-keyserve.ts),
// and `rekey db mariadb-config <keyring>`: issues a token and prints the [mariadb] block that puts
// a MariaDB server's data at rest under the keyring (docs/MARIADB.md).
import { type Command } from 'commander';
import { adminCall, connection, connectionOptions, type ConnectionFlags } from './admin-client.ts';
import { mariaDbConfigBlock } from '../keyserve/mariadb-config.ts';
import { formatOf, print, withOutput } from './output.ts';

export interface KeyserveCommandIo {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
}

const ring = (name: string) => `/v1/keyserve/keyrings/${encodeURIComponent(name)}`;

export function registerKeyserveCommands(program: Command, db: Command, io: KeyserveCommandIo = { out: (s) => process.stdout.write(s), env: process.env }): void {
  const conn = (cmd: Command) => connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env, { requireCredentials: true });
  // every keyserve command prints the server's answer: a table (--output table, the default) or its JSON
  const answer = (cmd: Command) => (v: unknown) => print(io.out, formatOf(cmd.opts()), v);
  const ks = connectionOptions(program.command('keyserve').description('MariaDB keys for the hashicorp_key_management plugin (docs/MARIADB.md)'));
  const command = (spec: string) => withOutput(ks.command(spec));

  command('create-keyring <name>').description('A keyring of MariaDB keys (ids 1 and 2 by default) under a KMS key')
    .requiredOption('--kms-key-id <key>', 'the KMS key: id, ARN, alias name or alias ARN')
    .option('--key-ids <ids>', 'comma-separated key ids (default 1,2)')
    .action(async (name: string, o: { kmsKeyId: string; keyIds?: string }, cmd: Command) => {
      answer(cmd)(await adminCall(conn(cmd), { method: 'POST', path: '/v1/keyserve/keyrings', body: { name, kmsKeyId: o.kmsKeyId, ...(o.keyIds ? { keyIds: o.keyIds.split(',').map(Number) } : {}) } }));
    });
  command('list').description('Keyrings').action(async (_o: unknown, cmd: Command) => answer(cmd)(await adminCall(conn(cmd), { method: 'GET', path: '/v1/keyserve/keyrings' })));
  command('show <name>').description('A keyring: KMS key, keys, latest versions')
    .action(async (name: string, _o: unknown, cmd: Command) => answer(cmd)(await adminCall(conn(cmd), { method: 'GET', path: ring(name) })));
  command('create-key <name> <key-id>').description('Add a key id to a keyring')
    .action(async (name: string, keyId: string, _o: unknown, cmd: Command) => answer(cmd)(await adminCall(conn(cmd), { method: 'POST', path: `${ring(name)}/keys`, body: { keyId: Number(keyId) } })));
  command('sync <name>').description('Add a version to every key made under an older KMS key material')
    .action(async (name: string, _o: unknown, cmd: Command) => answer(cmd)(await adminCall(conn(cmd), { method: 'POST', path: `${ring(name)}/sync`, body: {} })));
  command('issue-token <name>').description('Issue an X-Vault-Token for the keyring, acting as you (printed once)')
    .option('--description <text>')
    .action(async (name: string, o: { description?: string }, cmd: Command) => {
      answer(cmd)(await adminCall(conn(cmd), { method: 'POST', path: `${ring(name)}/tokens`, body: o.description ? { description: o.description } : {} }));
    });
  command('list-tokens <name>').description('Token accessors, principals and revocations (never the tokens)')
    .action(async (name: string, _o: unknown, cmd: Command) => answer(cmd)(await adminCall(conn(cmd), { method: 'GET', path: `${ring(name)}/tokens` })));
  command('revoke-token <name> <accessor>').description('Revoke a token: its next read is refused')
    .action(async (name: string, accessor: string, _o: unknown, cmd: Command) => answer(cmd)(await adminCall(conn(cmd), { method: 'DELETE', path: `${ring(name)}/tokens/${encodeURIComponent(accessor)}` })));

  db.command('mariadb-config <keyring>')
    .description('Issue a token for the keyring and print the [mariadb] block (plugin + encryption options)')
    .option('--kms-key-id <key>', 'create the keyring under this KMS key if it does not exist')
    .option('--vault-endpoint <url>', 'rekey\'s URL as the MariaDB host reaches it (default: --endpoint)')
    .option('--vault-ca <file>', 'CA bundle path on the MariaDB host (HTTPS; e.g. a copy of <dataDir>/tls/ca.pem)')
    .option('--ca-bundle <file>', 'CA certificate(s) to trust for HTTPS (env AWS_CA_BUNDLE)')
    .action(async (name: string, o: { kmsKeyId?: string; vaultEndpoint?: string; vaultCa?: string }, cmd: Command) => {
      const c = conn(cmd);
      if (o.kmsKeyId) {
        await adminCall(c, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name, kmsKeyId: o.kmsKeyId } }).catch((e: { code?: string }) => {
          if (e.code !== 'AlreadyExistsException') throw e;
        });
      }
      const t = await adminCall<{ token: string; accessor: string; principalArn: string }>(c, { method: 'POST', path: `${ring(name)}/tokens`, body: { description: 'rekey db mariadb-config' } });
      const endpoint = o.vaultEndpoint ?? c.endpoint.origin;
      io.out(`# rekey keyring ${name}; token accessor ${t.accessor} (revoke: rekey keyserve revoke-token ${name} ${t.accessor}), acting as ${t.principalArn}\n`);
      io.out(mariaDbConfigBlock({ endpoint, keyring: name, token: t.token, ...(o.vaultCa ? { caFile: o.vaultCa } : {}) }));
    });
}
