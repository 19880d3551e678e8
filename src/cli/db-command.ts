// `rekey db change-key <db-instance-id> --kms-key-id <key> [--wait]`: POST /v1/db/instances/{id}/change-key
// on a running server (src/http/admin-db.ts), then, with --wait, the job's progress until it ends.
// `rekey db show <db-instance-id>`: GET /v1/db/instances/{id} (a mariadb instance's key rotation progress).
// `rekey db replication <db-instance-id>`: GET /v1/db/instances/{id}/replication (a read replica's lag).
import { type Command, Option } from 'commander';
import { adminCall, connection, DEFAULT_ENDPOINT, type ConnectionFlags } from './admin-client.ts';
import { formatOf, print, withOutput } from './output.ts';

interface JobView { id: string; state: string; step: string; progress?: { message?: string }; lastError?: { name: string; message: string } }

export interface DbCommandIo {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
  sleep?(ms: number): Promise<void>;
}

export function registerDbCommands(program: Command, io: DbCommandIo = { out: (s) => process.stdout.write(s), env: process.env }): Command {
  const db = program.command('db').description('Database instances on a running server (the RDS API covers the rest: aws rds ...)')
    .addOption(new Option('-e, --endpoint <url>', `server URL (env REKEY_ENDPOINT, default ${DEFAULT_ENDPOINT})`))
    .addOption(new Option('--region <region>', 'signing region (env AWS_REGION, default us-east-1)'));
  withOutput(db.command('change-key <db-instance-id>'))
    .description('Move a running encrypted instance onto another KMS key, live (same endpoint; old volume key destroyed)')
    .requiredOption('--kms-key-id <key>', 'the new key: id, ARN, alias name or alias ARN')
    .option('--wait', 'follow the job until it ends (--output json: prints {instance, job} once it has)')
    .action(async (id: string, o: { kmsKeyId: string; wait?: boolean; output: string }, cmd: Command) => {
      const conn = connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env);
      const asJson = formatOf(o) === 'json';
      const r = await adminCall<{ dbInstanceIdentifier: string; status: string; jobId: string }>(conn, {
        method: 'POST', path: `/v1/db/instances/${encodeURIComponent(id)}/change-key`, body: { kmsKeyId: o.kmsKeyId },
      });
      if (!asJson) io.out(`${r.dbInstanceIdentifier}: ${r.status}; job ${r.jobId} (rekey jobs show ${r.jobId})\n`);
      else if (!o.wait) io.out(JSON.stringify(r, null, 2) + '\n');
      if (!o.wait) return;
      const sleep = io.sleep ?? ((ms: number) => new Promise<void>((res) => setTimeout(res, ms)));
      let last = '';
      for (;;) {
        const j = await adminCall<JobView>(conn, { method: 'GET', path: `/v1/jobs/${encodeURIComponent(r.jobId)}` });
        const line = `${j.step}: ${j.progress?.message ?? ''}`;
        if (line !== last && !asJson) io.out(`  ${line}\n`);
        last = line;
        if (asJson && j.state !== 'queued' && j.state !== 'running') io.out(JSON.stringify({ instance: r, job: j }, null, 2) + '\n');
        if (j.state === 'failed' || j.state === 'cancelled') {
          if (!asJson) io.out(`job ${j.id} ${j.state}: ${j.lastError?.name ?? ''} ${j.lastError?.message ?? ''}\n`);
          process.exitCode = 1;
          return;
        }
        if (j.state === 'succeeded') {
          // an abandoned change (the new key became unusable): the job ends, the instance stays on its old key
          if (j.progress?.message?.startsWith('abandoned')) process.exitCode = 1;
          return;
        }
        await sleep(1000);
      }
    });
  withOutput(db.command('show <db-instance-id>'))
    .description('An instance: status, endpoint, key; for an encrypted mariadb instance, how many InnoDB tablespaces are still below the newest key version, and which key versions are served, retired or kept and why (GET /v1/db/instances/{id})')
    .option('--json', 'same as --output json')
    .action(async (id: string, o: { json?: boolean; output: string }, cmd: Command) => {
      const conn = connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env);
      const r = await adminCall<{ dbInstanceIdentifier: string; engine: string; engineVersion: string; status: string; storageEncrypted: boolean; kmsKeyId?: string; endpoint?: { address: string; port: number }; keyRotation?: { latestKeyVersion: number; tablespaces: number; remaining: number; versions?: { keyId: number; served: number[]; retired: number[]; keptBecause: string[] }[] } }>(conn, {
        method: 'GET', path: `/v1/db/instances/${encodeURIComponent(id)}`,
      });
      if (formatOf(o) === 'json') return print(io.out, 'json', r);
      io.out(`${r.dbInstanceIdentifier}: ${r.engine} ${r.engineVersion}, ${r.status}${r.endpoint ? `, ${r.endpoint.address}:${r.endpoint.port}` : ''}${r.storageEncrypted ? `, encrypted under ${r.kmsKeyId ?? '?'}` : ''}\n`);
      const k = r.keyRotation;
      if (k) io.out(`key rotation: ${k.remaining === 0 ? 'complete' : 'in progress'}: ${k.remaining} of ${k.tablespaces} InnoDB tablespaces below key version ${k.latestKeyVersion}\n`);
      for (const v of k?.versions ?? []) {
        io.out(`key ${v.keyId} versions: served ${v.served.join(', ')}${v.retired.length > 0 ? `; retired ${v.retired.join(', ')}` : ''}\n`);
        for (const why of v.keptBecause) io.out(`  kept: ${why}\n`);
      }
    });
  withOutput(db.command('replication <db-instance-id>'))
    .description('A read replica\'s source, replication status and lag (seconds), or a source\'s replicas (GET /v1/db/instances/{id}/replication)')
    .action(async (id: string, o: { output: string }, cmd: Command) => {
      const conn = connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env);
      const r = await adminCall<{ dbInstanceIdentifier: string; readReplicaSourceDBInstanceIdentifier?: string; readReplicaDBInstanceIdentifiers: string[]; replication?: string; replicaLagSeconds?: number; message?: string }>(conn, {
        method: 'GET', path: `/v1/db/instances/${encodeURIComponent(id)}/replication`,
      });
      if (formatOf(o) === 'json') return print(io.out, 'json', r);
      if (r.readReplicaSourceDBInstanceIdentifier !== undefined) {
        io.out(`${r.dbInstanceIdentifier}: replica of ${r.readReplicaSourceDBInstanceIdentifier}; ${r.replication ?? 'unknown'}; lag ${r.replicaLagSeconds ?? '?'} s${r.message ? ` (${r.message})` : ''}\n`);
      }
      if (r.readReplicaDBInstanceIdentifiers.length > 0) io.out(`${r.dbInstanceIdentifier}: read replicas ${r.readReplicaDBInstanceIdentifiers.join(', ')}\n`);
      if (r.readReplicaSourceDBInstanceIdentifier === undefined && r.readReplicaDBInstanceIdentifiers.length === 0) io.out(`${r.dbInstanceIdentifier}: no replication\n`);
    });
  return db;
}
