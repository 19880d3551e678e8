// `rekey incident compromised-key|compromised-credentials|show|verify` (docs/INCIDENTS.md).
//   compromised-key / compromised-credentials: one SigV4-signed POST /v1/incidents/... that starts the
//     durable job; with --wait, polls GET /v1/incidents/<id> and prints each step until it ends, then
//     writes the signed report (--out) or prints it.
//   show: the incident's progress and report.   verify: checks a saved report offline.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ValidationException } from '../errors.ts';
import { adminCall, connection, connectionOptions, type AdminConnection, type ConnectionFlags } from './admin-client.ts';
import { parsePublicKeyPem } from '../audit/digest.ts';
import type { IncidentView } from '../compliance/incident/service.ts';
import { verifyIncidentReport } from '../compliance/incident/report.ts';
import { formatOf, print, renderTable, withOutput } from './output.ts';

export interface IncidentCliIo {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
  fail(): void;
  /** Poll interval of --wait (ms). */
  pollMs?: number;
}

const defaultIo: IncidentCliIo = { out: (t) => process.stdout.write(t), env: process.env, fail: () => { process.exitCode = 1; } };

interface StartFlags { from?: string; to?: string; wait?: boolean; out?: string; timeout: string; output: string }

/**
 * After the start: without --wait, the incident id; with it, each step, then the report. With
 * --output json nothing but one JSON document: {incidentId}, or (--wait) the incident as it ended.
 */
async function follow(conn: AdminConnection, id: string, o: StartFlags, io: IncidentCliIo): Promise<void> {
  const asJson = formatOf(o) === 'json';
  if (!o.wait) {
    print(io.out, formatOf(o), { incidentId: id }, () => `incident ${id} opened\nfollow it with: rekey incident show ${id}\n`);
    return;
  }
  if (!asJson) io.out(`incident ${id} opened\n`);
  const end = Date.now() + Number(o.timeout) * 1000;
  let last = '';
  for (;;) {
    const v = await adminCall<IncidentView>(conn, { method: 'GET', path: `/v1/incidents/${id}` });
    const line = `${v.state} ${v.step}${v.progress?.message ? `: ${v.progress.message}` : ''}${v.lastError ? ` (last error ${v.lastError.name}: ${v.lastError.message})` : ''}`;
    if (line !== last && !asJson) io.out(`  ${line}\n`);
    last = line;
    if (v.state === 'succeeded' || v.state === 'failed' || v.state === 'cancelled') {
      if (v.state !== 'succeeded') io.fail();
      if (asJson) {
        if (v.report && o.out !== undefined) writeFileSync(o.out, JSON.stringify(v.report, null, 2) + '\n', { mode: 0o600 });
        io.out(JSON.stringify(v, null, 2) + '\n');
        return;
      }
      if (v.report) {
        const text = JSON.stringify(v.report, null, 2) + '\n';
        if (o.out !== undefined) {
          writeFileSync(o.out, text, { mode: 0o600 });
          io.out(`${o.out}: incident report, ${v.report.uses.total} recorded use(s), ${v.report.stillCompromised.length} holding(s) still under compromised material, signed by ${v.report.signature?.publicKeyFingerprint ?? 'nobody'}\n`);
        } else {
          io.out(text);
        }
      }
      return;
    }
    if (Date.now() > end) {
      print(io.out, formatOf(o), v, () => `still running after ${o.timeout} s: rekey incident show ${id}\n`);
      io.fail();
      return;
    }
    await new Promise((r) => setTimeout(r, io.pollMs ?? 500));
  }
}

export function registerIncidentCommands(program: Command, io: IncidentCliIo = defaultIo): Command {
  const group = program.command('incident').description('Incident response as durable, audited jobs: a compromised key, leaked credentials');
  const startOptions = (c: Command) => withOutput(connectionOptions(c))
    .option('--from <time>', 'start of the window of uses read from the audit trail (ISO 8601; default 90 days before --to)')
    .option('--to <time>', 'end of the window (ISO 8601; default now)')
    .option('--wait', 'follow the job until it ends, then print (or --out) the signed report')
    .option('--timeout <seconds>', 'with --wait: give up following after this long', '900')
    .option('--out <file>', 'with --wait: write the report here');
  startOptions(group.command('compromised-key <key>'))
    .description('Record the incident, rotate the key now, re-wrap every secret value, instance volume key and snapshot key rekey holds under it, list its uses, write a signed report')
    .option('--disable-principals', 'deactivate the access keys (revoke the sessions) of principals whose use was outside policy')
    .option('--allowed-principal <arn...>', 'principals expected to use the key: any other user of it is outside policy')
    .action(async (key: string, o: StartFlags & { disablePrincipals?: boolean; allowedPrincipal?: string[] }, cmd: Command) => {
      const conn = connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env);
      const r = await adminCall<{ incidentId: string }>(conn, {
        method: 'POST', path: '/v1/incidents/compromised-key',
        body: { key, ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}), ...(o.disablePrincipals ? { disablePrincipals: true } : {}), ...(o.allowedPrincipal ? { allowedPrincipals: o.allowedPrincipal } : {}) },
      });
      await follow(conn, r.incidentId, o, io);
    });
  startOptions(group.command('compromised-credentials <secret-or-access-key>'))
    .description('Rotate the secret now (or deactivate the access key), end its proxy sessions where the proxy can, list its uses, write a signed report')
    .action(async (credential: string, o: StartFlags, cmd: Command) => {
      const conn = connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env);
      const r = await adminCall<{ incidentId: string }>(conn, {
        method: 'POST', path: '/v1/incidents/compromised-credentials', body: { credential, ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) },
      });
      await follow(conn, r.incidentId, o, io);
    });
  withOutput(connectionOptions(group.command('show <id>')))
    .description('An incident\'s progress, record and signed report')
    .action(async (id: string, o: { output: string }, cmd: Command) => {
      const conn = connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env);
      const v = await adminCall<IncidentView>(conn, { method: 'GET', path: `/v1/incidents/${encodeURIComponent(id)}` });
      print(io.out, formatOf(o), v, () => renderTable(v));
    });
  withOutput(group.command('verify <report-file>'))
    .description('Check a saved incident report offline against the audit public key; exits 1 if it was modified')
    .requiredOption('--public-key <pem-file>', 'the audit public key (`rekey audit public-key`)')
    .action((file: string, o: { publicKey: string; output: string }) => {
      let key;
      try {
        key = parsePublicKeyPem(readFileSync(o.publicKey, 'utf8'));
      } catch {
        throw new ValidationException(`--public-key: ${o.publicKey} is not a readable Ed25519 public key in PEM form`);
      }
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        parsed = null;
      }
      const check = verifyIncidentReport(parsed, key);
      if (check === 'ok') print(io.out, formatOf(o), { ok: true, signedBy: key.fingerprint }, () => `incident verify: OK (signed by ${key.fingerprint})\n`);
      else {
        print(io.out, formatOf(o), { ok: false, check }, () => `incident verify: REFUSED (${check})\n`);
        io.fail();
      }
    });
  return group;
}
