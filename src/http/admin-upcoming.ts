// GET /v1/jobs/upcoming: the work the schedules will create (`rekey jobs ls --upcoming`), as data
// (src/http/admin-routes.ts). Reads the due indexes; changes nothing.
//
//   GET /v1/jobs/upcoming?days=30&threshold=0.8&limit=100
//     -> { now, until, threshold, upcoming: UpcomingItem[] (date order), budgets: BudgetNearLimit[] (fullest first), truncated }
//
// upcoming: automatic KMS key rotations (kind kms.rotate), key deletions at the end of their waiting
// period (kms.delete), scheduled secret rotations (secrets.rotate) and secret deletions at the end of
// their recovery window (secrets.delete) due by now + days; an item whose date has passed is a job
// about to be created. budgets: keys whose usage budget is at least `threshold` used (1 = used up).
// SigV4 (credential scope "iam"); rekey:ListUpcomingJobs on arn:aws:rekey:<region>:<account>:job/*.
import type { AdminRoute } from './admin-routes.ts';
import type { BudgetNearLimit, UpcomingKeyWork } from '../kms/lifecycle/upcoming.ts';
import type { UpcomingSecretEvent } from '../secrets/upcoming.ts';

export interface UpcomingItem {
  at: string;
  /** The job kind the schedule will create. */
  kind: 'kms.rotate' | 'kms.delete' | 'secrets.rotate' | 'secrets.delete';
  /** Key id or secret name. */
  target: string;
  /** Key ARN (keys only). */
  arn?: string;
}

export interface UpcomingView {
  now: string;
  until: string;
  threshold: number;
  upcoming: UpcomingItem[];
  budgets: BudgetNearLimit[];
  truncated: boolean;
}

export interface UpcomingSources {
  keys(o: { until: Date; threshold: number; limit: number }): Promise<UpcomingKeyWork>;
  secrets(o: { until: Date; limit: number }): Promise<{ rotations: UpcomingSecretEvent[]; deletions: UpcomingSecretEvent[]; truncated: boolean }>;
  clock(): Date;
}

const DAY_MS = 86_400_000;

export function upcomingRoutes(src: UpcomingSources, scope: { region: string; accountId: string }): AdminRoute[] {
  return [{
    method: 'GET', url: '/v1/jobs/upcoming', action: 'rekey:ListUpcomingJobs',
    summary: 'Automatic rotations and deletions due in the next `days` (default 30), and usage budgets at least `threshold` (default 0.8) used',
    schema: {
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          days: { type: 'integer', minimum: 0, maximum: 3660 },
          threshold: { type: 'number', minimum: 0, maximum: 1 },
          limit: { type: 'integer', minimum: 1, maximum: 1000 },
        },
      },
    },
    audit: ['days', 'threshold', 'limit'], resource: () => `arn:aws:rekey:${scope.region}:${scope.accountId}:job/*`,
    run: async (q): Promise<UpcomingView> => {
      const now = src.clock();
      const until = new Date(now.getTime() + ((q['days'] as number | undefined) ?? 30) * DAY_MS);
      const threshold = (q['threshold'] as number | undefined) ?? 0.8;
      const limit = (q['limit'] as number | undefined) ?? 100;
      const [keys, secrets] = await Promise.all([src.keys({ until, threshold, limit }), src.secrets({ until, limit })]);
      const upcoming: UpcomingItem[] = [
        ...keys.rotations.map((e) => ({ at: e.at, kind: 'kms.rotate' as const, target: e.keyId, arn: e.keyArn })),
        ...keys.deletions.map((e) => ({ at: e.at, kind: 'kms.delete' as const, target: e.keyId, arn: e.keyArn })),
        ...secrets.rotations.map((e) => ({ at: e.at, kind: 'secrets.rotate' as const, target: e.name })),
        ...secrets.deletions.map((e) => ({ at: e.at, kind: 'secrets.delete' as const, target: e.name })),
      ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
      return { now: now.toISOString(), until: until.toISOString(), threshold, upcoming, budgets: keys.budgets, truncated: keys.truncated || secrets.truncated };
    },
  }];
}
