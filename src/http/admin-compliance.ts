// Admin routes for compliance reports (docs/COMPLIANCE.md), as data (admin-routes.ts). Adapts ComplianceService (src/compliance).
//
//   GET /v1/compliance/report?standard=pci-dss|hipaa|sp800-57[&from=ISO&to=ISO]
//        -> the signed report (JSON)                                  rekey:GetComplianceReport
//   GET /v1/compliance/evaluation -> the last scheduled evaluation      rekey:GetComplianceEvaluation
//
// Every call is SigV4-signed (credential scope service "iam"), authorized on
// arn:aws:rekey:<region>:<account>:compliance/report and audited (standard, from, to).
import { ValidationException } from '../errors.ts';
import type { AdminRoute } from './admin-routes.ts';
import type { ComplianceService } from '../compliance/service.ts';
import { latestEvaluation } from '../compliance/job.ts';
import { STANDARDS, type Standard } from '../compliance/standards.ts';
import type { Barrier } from '../storage/barrier.ts';

const ISO = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2}))?$';
const reportQuery = {
  type: 'object', additionalProperties: false, required: ['standard'],
  properties: { standard: { enum: [...STANDARDS] }, from: { type: 'string', pattern: ISO }, to: { type: 'string', pattern: ISO } },
} as const;

function time(name: string, v: unknown): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(String(v));
  if (Number.isNaN(d.getTime())) throw new ValidationException(`${name}: not a valid time (use ISO 8601, e.g. 2030-01-01T00:00:00Z)`);
  return d;
}

export function complianceRoutes(compliance: ComplianceService, barrier: Barrier, scope: { region: string; accountId: string }): AdminRoute[] {
  const arn = `arn:aws:rekey:${scope.region}:${scope.accountId}:compliance/report`;
  return [
    {
      method: 'GET', url: '/v1/compliance/report', action: 'rekey:GetComplianceReport', schema: { querystring: reportQuery },
      summary: 'Evaluate the compliance rules of one standard now and return the report signed with the audit signing key',
      audit: ['standard', 'from', 'to'], resource: () => arn,
      run: (q) => {
        const from = time('from', q['from']);
        const to = time('to', q['to']);
        return compliance.report(q['standard'] as Standard, { ...(from ? { from } : {}), ...(to ? { to } : {}) });
      },
    },
    {
      method: 'GET', url: '/v1/compliance/evaluation', action: 'rekey:GetComplianceEvaluation',
      summary: 'The last scheduled evaluation of every rule (the compliance.evaluate job)', audit: [], resource: () => arn,
      run: async () => (await latestEvaluation(barrier)) ?? { findings: [], at: null },
    },
  ];
}
