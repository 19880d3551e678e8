// `rekey compliance report|verify|evaluation` (docs/COMPLIANCE.md).
//   report: one SigV4-signed GET /v1/compliance/report on a running server; prints or writes the
//           signed report as JSON or as a self-contained HTML page (which carries the signed JSON).
//   verify: offline: checks a report file (JSON or HTML) against the audit public key
//           (`rekey audit public-key`); exits 1 when it was modified or signed by another key.
import { readFileSync, writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { ValidationException } from '../errors.ts';
import { adminCall, connection, connectionOptions, type ConnectionFlags } from './admin-client.ts';
import { parsePublicKeyPem } from '../audit/digest.ts';
import { renderHtml } from '../compliance/html.ts';
import { type ComplianceReport, type ReportCheck, parseReportFile, verifyReport } from '../compliance/report.ts';
import { STANDARDS } from '../compliance/standards.ts';
import { formatOf, print, withOutput } from './output.ts';

export interface ComplianceCliIo {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Called when a report does not verify (default: process.exitCode = 1). */
  fail(): void;
}

const defaultIo: ComplianceCliIo = { out: (t) => process.stdout.write(t), env: process.env, fail: () => { process.exitCode = 1; } };

const WHY: Record<Exclude<ReportCheck, 'ok'>, string> = {
  'bad-signature': 'the signature does not match: the report was modified after it was signed',
  'wrong-key': 'it was signed by another key than the one given',
  unsigned: 'it carries no signature',
  malformed: 'it is not a rekey compliance report',
};

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new ValidationException(`${what}: cannot read ${path}`);
  }
}

export function registerComplianceCommands(program: Command, io: ComplianceCliIo = defaultIo): Command {
  const group = program.command('compliance').description('Compliance reports (PCI DSS, HIPAA, NIST SP 800-57) signed with the audit signing key');
  connectionOptions(group.command('report'))
    .description('Evaluate the compliance rules of one standard on a running server; the report is signed with the audit signing key')
    .addOption(new Option('--standard <standard>', 'which standard\'s rules and clauses').choices([...STANDARDS]).makeOptionMandatory())
    .option('--from <time>', 'start of the audit window for rotation history and use (ISO 8601; default 90 days before --to)')
    .option('--to <time>', 'end of the audit window (ISO 8601; default now)')
    .addOption(new Option('--output <format>', 'json or html').choices(['json', 'html']).default('json'))
    .option('--out <file>', 'write the report to this file instead of standard output')
    .action(async (o: { standard: string; from?: string; to?: string; output: 'json' | 'html'; out?: string }, cmd: Command) => {
      const conn = connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env);
      const report = await adminCall<ComplianceReport>(conn, { method: 'GET', path: '/v1/compliance/report', query: { standard: o.standard, from: o.from, to: o.to } });
      const text = o.output === 'html' ? renderHtml(report) : JSON.stringify(report, null, 2) + '\n';
      if (o.out !== undefined) {
        writeFileSync(o.out, text, { mode: 0o644 });
        io.out(`${o.out}: ${report.standard} report, ${report.summary.findings} finding(s), signed by ${report.signature?.publicKeyFingerprint ?? 'nobody'}\n`);
      } else {
        io.out(text);
      }
    });
  withOutput(group.command('verify <report-file>'))
    .description('Check a report (JSON or HTML) offline against the audit public key; exits 1 if it was modified')
    .requiredOption('--public-key <pem-file>', 'the audit public key (`rekey audit public-key`), kept apart from the server')
    .action((file: string, o: { publicKey: string; output: string }) => {
      const key = (() => {
        try {
          return parsePublicKeyPem(readText(o.publicKey, '--public-key'));
        } catch (e) {
          if (e instanceof ValidationException) throw e;
          throw new ValidationException(`--public-key: ${o.publicKey} is not an Ed25519 public key in PEM form`);
        }
      })();
      let parsed: unknown;
      try {
        parsed = parseReportFile(readText(file, 'report'));
      } catch (e) {
        if (e instanceof ValidationException) throw e;
        parsed = null;
      }
      const check = verifyReport(parsed, key);
      if (check === 'ok') {
        const r = parsed as ComplianceReport;
        print(io.out, formatOf(o), { ok: true, standard: r.standard, generatedAt: r.generatedAt, findings: r.summary.findings, signedBy: key.fingerprint },
          () => `compliance verify: OK (${r.standard} report generated ${r.generatedAt}, ${r.summary.findings} finding(s), signed by ${key.fingerprint})\n`);
      } else {
        print(io.out, formatOf(o), { ok: false, check, reason: WHY[check] }, () => `compliance verify: REFUSED (${check}): ${WHY[check]}\n`);
        io.fail();
      }
    });
  withOutput(connectionOptions(group.command('evaluation')))
    .description('The last scheduled evaluation of every rule')
    .action(async (o: { output: string }, cmd: Command) => {
      const conn = connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env);
      print(io.out, formatOf(o), await adminCall<unknown>(conn, { method: 'GET', path: '/v1/compliance/evaluation' }));
    });
  return group;
}
