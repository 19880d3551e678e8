// The `rekey` command as a commander program (src/cli/main.ts runs it; test/cli-matrix.test.ts runs it
// in process). Thin: parses arguments, loads configuration, calls into the domain.
import { Command, Option } from 'commander';
import { VERSION } from '../version.ts';
import { loadConfig } from '../config/config.ts';
import { ConfigurationError, RekeyError } from '../errors.ts';
import { connectionOptions } from './admin-client.ts';
import { runServer } from './server-command.ts';
import { runRotateRoot } from './operator.ts';
import { registerIamCommands } from './iam-command.ts';
import { registerJobsCommands } from './jobs-command.ts';
import { registerProxyCommands } from './proxy-command.ts';
import { registerDbCommands } from './db-command.ts';
import { registerKeyserveCommands } from './keyserve-command.ts';
import { registerAuditCommands } from './audit-command.ts';
import { registerKmsCommands } from './kms-command.ts';
import { registerKmsLifecycleCommands } from './kms-lifecycle-command.ts';
import { registerSecretsCommands } from './secrets-command.ts';
import { registerCertsCommands } from './certs-command.ts';
import { registerComplianceCommands } from './compliance-command.ts';
import { registerRehearseCommand } from './rehearse-command.ts';
import { registerIncidentCommands } from './incident-command.ts';
import { registerAlarmsCommands } from './alarms-command.ts';
import { openExistingStore } from '../storage/open.ts';
import { formatOf, outputOption } from './output.ts';

/** An existing store named by the configuration and these flags (never created), for commands that read it offline. */
async function openStore(flags: { config?: string; dataDir?: string }) {
  const cfg = loadConfig({ ...(flags.config ? { configFile: flags.config } : {}), ...(flags.dataDir ? { dataDir: flags.dataDir } : {}) });
  const store = await openExistingStore({ backend: cfg.storage.backend, dataDir: cfg.dataDir, rootKey: cfg.rootKey, ...(cfg.storage.postgresUrl ? { postgresUrl: cfg.storage.postgresUrl } : {}) });
  return { cfg, barrier: store.barrier, close: async () => { await store.backend.close(); store.barrier.seal(); } };
}

const CONNECTION_FLAGS = [['--endpoint', 'endpoint'], ['--region', 'region'], ['--ca-bundle', 'caBundle']] as const;

/**
 * `--endpoint`, `--region` and `--ca-bundle` in any position (issue 18, item 6): before the group
 * (`rekey --endpoint URL kms ...`), between group and command, or after it. They are added to the
 * program and to every group that lacks them; before an action runs, a value given further up fills
 * the command's own option (commands read their own flags or optsWithGlobals). Given to a command
 * that talks to no server (`rekey server`, `rekey audit verify`, ...), they are refused by name.
 */
function connectionFlagsAnywhere(program: Command): void {
  const has = (c: Command, long: string) => c.options.some((o) => o.long === long);
  const native = new Set<Command>();
  const visit = (c: Command) => {
    if (has(c, '--endpoint')) native.add(c);
    c.commands.forEach(visit);
  };
  visit(program);
  const groups = (c: Command): Command[] => (c.commands.length > 0 ? [c, ...c.commands.flatMap(groups)] : []);
  for (const g of groups(program)) if (!has(g, '--endpoint')) connectionOptions(g);
  program.hook('preAction', (_root, action) => {
    const chain: Command[] = [];
    for (let c: Command | null = action; c; c = c.parent) chain.push(c);
    const talks = chain.some((c) => native.has(c));
    for (const [flag, key] of CONNECTION_FLAGS) {
      const given = chain.find((c) => c.getOptionValue(key) !== undefined);
      if (!given) continue;
      if (!talks) throw new ConfigurationError(`${flag} does not apply to rekey ${chain.slice(0, -1).reverse().map((c) => c.name()).join(' ')}: it talks to no server`);
      // the nearest command that declares the flag natively reads it: give it the value if it has none
      const reader = chain.find((c) => native.has(c) && has(c, flag));
      if (reader && reader.getOptionValue(key) === undefined) reader.setOptionValueWithSource(key, given.getOptionValue(key), 'cli');
    }
  });
}

/** Where the commands that talk to a server print, and the environment they read (tests pass their own). */
export interface ProgramIo {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** Every `rekey` subcommand, registered on a new program. */
export function buildProgram(io: ProgramIo = { out: (t) => void process.stdout.write(t), env: process.env }): Command {
  const program = new Command();
  const stream = { write: (t: string) => io.out(t) };
  const fail = () => { process.exitCode = 1; };
  program
    .name('rekey')
    .description('Self-hosted key management and key rotation for databases (AWS KMS compatible)')
    .version(VERSION, '-v, --version')
    .showHelpAfterError();

  program
    .command('server')
    .description('Run the rekey server (KMS API on POST /, admin API under /v1)')
    .addOption(new Option('-p, --port <port>', 'port to listen on (env REKEY_PORT, default 8370)'))
    .addOption(new Option('-H, --host <host>', 'address to bind (env REKEY_HOST, default 127.0.0.1)'))
    .addOption(new Option('-d, --data-dir <dir>', 'data directory (env REKEY_DATA_DIR, default ./data)'))
    .addOption(new Option('-c, --config <file>', 'JSON configuration file (env REKEY_CONFIG)'))
    .addOption(new Option('--tls <mode>', 'HTTPS: generated (rekey\'s own CA) or files (env REKEY_TLS; docs/TLS.md)').choices(['off', 'generated', 'files']))
    .addOption(new Option('--insecure-http', 'serve plain HTTP outside dev mode (env REKEY_INSECURE_HTTP=1)'))
    .action(async (o: { port?: string; host?: string; dataDir?: string; config?: string; tls?: string; insecureHttp?: boolean }) => {
      await runServer(loadConfig({
        ...(o.config ? { configFile: o.config } : {}), ...(o.port ? { port: o.port } : {}), ...(o.host ? { host: o.host } : {}), ...(o.dataDir ? { dataDir: o.dataDir } : {}),
        ...(o.tls ? { tls: o.tls } : {}), ...(o.insecureHttp ? { insecureHttp: true } : {}),
      }));
    });

  const operator = program.command('operator').description('Operator tasks on a data directory (run while the server is stopped, or against a shared store)');
  operator
    .command('rotate-root')
    .description('Rewrap the barrier keyring under a new root key; no stored data is rewritten')
    .addOption(new Option('-d, --data-dir <dir>', 'data directory (env REKEY_DATA_DIR, default ./data)'))
    .addOption(new Option('-c, --config <file>', 'JSON configuration file describing the CURRENT root key (env REKEY_CONFIG)'))
    .addOption(new Option('--new-key-file <path>', 'the new root key: a file with 32 bytes (raw, hex or base64)'))
    .addOption(new Option('--new-key-env <var>', 'the new root key: an environment variable with 32 bytes (hex or base64)'))
    .addOption(new Option('--new-passphrase-env <var>', 'the new root key: a passphrase in this environment variable (scrypt)'))
    .addOption(outputOption())
    .action(async (o: { dataDir?: string; config?: string; newKeyFile?: string; newKeyEnv?: string; newPassphraseEnv?: string; output: string }) => {
      const cfg = loadConfig({ ...(o.config ? { configFile: o.config } : {}), ...(o.dataDir ? { dataDir: o.dataDir } : {}) });
      await runRotateRoot(cfg, o, { write: io.out, format: formatOf(o) });
    });

  registerIamCommands(program, { out: stream, env: io.env });
  registerJobsCommands(program, undefined, io);
  registerProxyCommands(program, undefined, io);
  registerKeyserveCommands(program, registerDbCommands(program, io), io); // rekey keyserve ..., rekey db mariadb-config
  registerKmsCommands(program, { out: stream, env: io.env });
  registerKmsLifecycleCommands(program, { out: stream, env: io.env }); // joins the kms group
  registerSecretsCommands(program, { out: stream, env: io.env });
  registerCertsCommands(program, io);
  registerComplianceCommands(program, { ...io, fail });
  registerIncidentCommands(program, { ...io, fail });
  registerAlarmsCommands(program, io);
  // audit verify/lookup read the store directly (with the root key), so they work with the server stopped
  // they never create a store (openExistingStore): a missing one is an error naming the directory
  registerAuditCommands(program, async (flags) => openStore(flags));
  // rekey rehearse reads the store the same way, never writing (src/rehearse)
  registerRehearseCommand(program, async (flags) => {
    const { cfg, barrier, close } = await openStore(flags);
    return { barrier, close, tls: { tlsMode: cfg.tls.mode, certLifetimeSeconds: cfg.tls.certLifetimeSeconds, caLifetimeSeconds: cfg.tls.caLifetimeSeconds } };
  });
  connectionFlagsAnywhere(program);
  return program;
}

/**
 * Runs one command line (argv as process.argv: node, script, args...). A RekeyError (bad input,
 * server down, missing credentials, an error the server answered) is one line on stderr and exit
 * status 2; anything else is one line too (the stack only with REKEY_DEBUG=1) and status 1.
 */
export async function runCli(argv: readonly string[], o: { out?: (text: string) => void; err?: (text: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const err = o.err ?? ((t: string) => void process.stderr.write(t));
  try {
    await buildProgram({ out: o.out ?? ((t) => void process.stdout.write(t)), env: o.env ?? process.env }).parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof RekeyError) {
      err(`rekey: ${e.code}: ${e.message}\n`);
      return 2;
    }
    const debug = (o.env ?? process.env)['REKEY_DEBUG'] === '1';
    err(debug && e instanceof Error && e.stack ? `${e.stack}\n` : `rekey: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} (REKEY_DEBUG=1 shows where)\n`);
    return 1;
  }
}
