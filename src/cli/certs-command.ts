// `rekey certs status|rotate|rotate-ca|bundle|issue`: the API's certificates on a running server (/v1/certs).
// Thin: one SigV4-signed request per call (credential scope "iam", the caller's AWS_* variables),
// over HTTPS trusting --ca-bundle (env AWS_CA_BUNDLE, as the AWS CLI) when given.
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { ConfigurationError } from '../errors.ts';
import { adminCall, connection, connectionOptions, type AdminConnection, type ConnectionFlags } from './admin-client.ts';
import type { CertStatus } from '../certs/service.ts';
import type { CertView } from '../certs/model.ts';
import type { CaRotationView } from '../certs/ca-rotation.ts';
import { formatOf, print, withOutput } from './output.ts';

export interface CertsCommandIo {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
}

function call<T>(conn: AdminConnection, method: 'GET' | 'POST', path: string, body = ''): Promise<T> {
  return adminCall<T>(conn, { method, path, ...(body ? { body: JSON.parse(body) as object } : {}) });
}

function formatCert(title: string, v: CertView): string[] {
  return [
    `${title}`, `  subject:      ${v.subject}`, `  serial:       ${v.serial}`, `  SANs:         ${v.sans.join(', ')}`,
    `  valid:        ${v.notBefore} .. ${v.notAfter}`, `  fingerprint:  ${v.fingerprint256}`,
    ...(v.renewAt ? [`  rotates at:   ${v.renewAt}`] : []),
  ];
}

const PHASE = ['no rotation in progress', 'phase 1: new CA published beside the old one; the server certificate still comes from the old CA', 'phase 2: the server certificate comes from the new CA; the old CA is still trusted'];
const NEXT = { start: 'phase 1 (new CA published) starts', complete: 'phase 2 (server certificate from the new CA) starts', finish: 'phase 3 (old CA leaves the bundle) at' } as const;

export function formatCaRotation(r: CaRotationView): string[] {
  return [
    `CA rotation: ${PHASE[r.phase]}${r.phaseStartedAt ? ` (since ${r.phaseStartedAt}, ${r.trigger})` : ''}`,
    `  next:         ${NEXT[r.nextStep]} ${r.nextStepAt} by itself${r.phase ? ` (or: rekey certs rotate-ca --${r.nextStep})` : ' (or: rekey certs rotate-ca)'}`,
    '  trust bundle (rekey certs bundle --out ca.pem):',
    ...r.authorities.map((a) => `    ${a.role.padEnd(9)} ${a.serial}  until ${a.notAfter}  ${a.fingerprint256}`),
  ];
}

export function formatStatus(s: CertStatus): string {
  const lines = [`mode: ${s.mode}`, ...formatCert('server certificate', s.server)];
  if (s.ca) lines.push(...formatCert('certificate authority', s.ca));
  if (s.caRotation) lines.push(...formatCaRotation(s.caRotation));
  lines.push('history (newest first)');
  for (const h of s.history) lines.push(`  ${h.issuedAt}  ${h.serial}  ${h.reason.padEnd(12)}  until ${h.notAfter}  by ${h.node}${h.replaced ? `  replaced ${h.replaced}` : ''}`);
  return lines.join('\n') + '\n';
}

export function registerCertsCommands(program: Command, io: CertsCommandIo = { out: (t) => process.stdout.write(t), env: process.env }): Command {
  const certs = connectionOptions(program
    .command('certs')
    .description('The API\'s TLS certificates on a running server: status, rotation, issuing from rekey\'s CA'));
  const conn = (cmd: Command): AdminConnection => connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env);
  const command = (spec: string) => withOutput(certs.command(spec));
  command('status').description('Show the server certificate, the CA, expiry and rotation history').option('--json', 'same as --output json')
    .action(async (o: { json?: boolean; output: string }, cmd: Command) => {
      const s = await call<CertStatus>(conn(cmd), 'GET', '/v1/certs');
      print(io.out, formatOf(o), s, () => formatStatus(s));
    });
  command('rotate').description('Replace the server certificate now (generated mode); open connections are kept')
    .action(async (o: { output: string }, cmd: Command) => {
      const v = await call<CertView>(conn(cmd), 'POST', '/v1/certs/rotate');
      print(io.out, formatOf(o), v, () => `rotated: serial ${v.serial}, valid until ${v.notAfter}\n`);
    });
  command('rotate-ca').description('Rotate rekey\'s CA (docs/TLS.md "Rotating rekey\'s CA"): phase 1 publishes a new CA beside the old; --complete moves the server certificate to it; --finish drops the old CA')
    .option('--complete', 'phase 2: the server certificate from the new CA (clients must trust the new CA)')
    .option('--finish', 'phase 3: the old CA leaves the trust bundle')
    .action(async (o: { complete?: boolean; finish?: boolean; output: string }, cmd: Command) => {
      if (o.complete && o.finish) throw new ConfigurationError('--complete and --finish are two different phases: give one');
      const step = o.complete ? 'complete' : o.finish ? 'finish' : 'start';
      const r = await call<CaRotationView>(conn(cmd), 'POST', '/v1/certs/ca/rotate', JSON.stringify({ step }));
      print(io.out, formatOf(o), r, () => formatCaRotation(r).join('\n') + '\n');
    });
  command('bundle').description('Write the CA certificates clients should trust now (during a CA rotation: both CAs)')
    .requiredOption('--out <file>', 'where to write the PEM bundle')
    .action(async (o: { out: string; output: string }, cmd: Command) => {
      const s = await call<CertStatus>(conn(cmd), 'GET', '/v1/certs');
      if (!s.caRotation) throw new ConfigurationError('this server does not use rekey\'s CA (tls.mode "files"): clients trust your own CA');
      writeFileSync(o.out, s.caRotation.bundlePem);
      const n = s.caRotation.authorities.length;
      print(io.out, formatOf(o), { wrote: [o.out], authorities: s.caRotation.authorities }, () => `wrote ${o.out} (${n} CA certificate${n > 1 ? 's' : ''})\n`);
    });
  command('issue').description('Issue a certificate from rekey\'s CA (a proxy listener, or an mTLS client certificate naming a principal)')
    .requiredOption('--common-name <cn>', 'subject common name')
    .option('--san <name...>', 'DNS names / IP addresses')
    .option('--principal <arn>', 'client certificate for this IAM principal (URI SAN)')
    .addOption(new Option('--usage <usage>', 'server or client').choices(['server', 'client']).default('server'))
    .requiredOption('--out <prefix>', 'writes <prefix>.crt, <prefix>.key (mode 0600) and <prefix>.ca.pem')
    .action(async (o: { commonName: string; san?: string[]; principal?: string; usage: 'server' | 'client'; out: string; output: string }, cmd: Command) => {
      const body = JSON.stringify({ commonName: o.commonName, usage: o.principal ? 'client' : o.usage, ...(o.san ? { sans: o.san } : {}), ...(o.principal ? { uris: [o.principal] } : {}) });
      const r = await call<{ certificatePem: string; privateKeyPem: string; caPem: string }>(conn(cmd), 'POST', '/v1/certs/issue', body);
      writeFileSync(`${o.out}.crt`, r.certificatePem);
      writeFileSync(`${o.out}.key`, r.privateKeyPem, { mode: 0o600 });
      writeFileSync(`${o.out}.ca.pem`, r.caPem);
      const wrote = [`${o.out}.crt`, `${o.out}.key`, `${o.out}.ca.pem`];
      print(io.out, formatOf(o), { wrote }, () => `wrote ${wrote.join(', ')}\n`);
    });
  return certs;
}
