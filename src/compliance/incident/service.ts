// Incident response (docs/INCIDENTS.md): the two job kinds and what the admin API asks of them.
//   const incidents = new IncidentService(deps);
//   incidents.register(jobs);                                    // before jobs.start()
//   const { id } = await incidents.compromisedKey({ key, reportedBy, ... });   // a job, resumable
//   await incidents.get(id);                                     // the job's progress, the record, the signed report
import { ValidationException } from '../../errors.ts';
import { requireEnabled } from '../../kms/context.ts';
import type { JobEngine } from '../../jobs/engine.ts';
import type { Job } from '../../jobs/model.ts';
import { type EnqueueInput, JobStore } from '../../jobs/store.ts';
import { WriteGate } from '../../storage/gate.ts';
import type { IncidentDeps } from './deps.ts';
import { compromisedKeyHandler, type KeyIncidentData } from './compromised-key.ts';
import { ACCESS_KEY_ID, compromisedCredentialsHandler, type CredentialsIncidentData } from './compromised-credentials.ts';
import { incidentPath, KIND_COMPROMISED_CREDENTIALS, KIND_COMPROMISED_KEY, reportPath, type IncidentRecord } from './model.ts';
import type { IncidentReport } from './report.ts';

/** Default window of uses: the 90 days before the incident is opened. */
export const DEFAULT_WINDOW_DAYS = 90;
const DAY_MS = 86_400_000;

export interface Window { from?: Date; to?: Date }

export interface IncidentView {
  id: string;
  kind: string;
  state: string;
  step: string;
  progress?: Job['progress'];
  lastError?: Job['lastError'];
  incident: IncidentRecord | null;
  report: IncidentReport | null;
}

type Engine = Pick<JobEngine, 'registerKind' | 'enqueue' | 'get' | 'store' | 'clock' | 'worker'>;

/** One admin call's audit gate: its event is recorded right before the first write (src/storage/gate.ts). */
export type BeforeCommit = (partialOutput?: unknown) => Promise<void>;

export class IncidentService {
  private engine: Engine | undefined;

  constructor(private readonly deps: IncidentDeps, private readonly clock: () => Date = () => new Date()) {}

  register(jobs: Engine): void {
    this.engine = jobs;
    const opts = { backoff: { baseMs: 2_000, maxMs: 5 * 60_000 } };
    jobs.registerKind<KeyIncidentData>(KIND_COMPROMISED_KEY, compromisedKeyHandler(this.deps), opts);
    jobs.registerKind<CredentialsIncidentData>(KIND_COMPROMISED_CREDENTIALS, compromisedCredentialsHandler(this.deps), opts);
  }

  private window(w: Window): { from: string; to: string } {
    const to = w.to ?? this.clock();
    const from = w.from ?? new Date(to.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS);
    if (from.getTime() > to.getTime()) throw new ValidationException('from must not be after to');
    return { from: from.toISOString(), to: to.toISOString() };
  }

  /** Creates the job; through the call's gated view when there is one, so nothing is written unaudited. */
  private async enqueue<D>(input: EnqueueInput<D>, beforeCommit: BeforeCommit | undefined): Promise<Job<D>> {
    const engine = this.jobs();
    if (!beforeCommit) return (await engine.enqueue(input)).job;
    const { job } = await new JobStore(engine.store.barrier, engine.clock, new WriteGate(beforeCommit)).enqueue(input);
    engine.worker.wake();
    return job;
  }

  private jobs(): Engine {
    if (!this.engine) throw new Error('incident response is not registered with a job engine');
    return this.engine;
  }

  /** Opens a compromised-key incident: the key must exist (NotFoundException otherwise). */
  async compromisedKey(o: { key: string; reportedBy: string; disablePrincipals?: boolean; allowedPrincipals?: string[]; beforeCommit?: BeforeCommit } & Window): Promise<{ id: string }> {
    const keyId = await this.deps.kms.lifecycle.resolveExisting(o.key);
    // rotating and re-wrapping need an Enabled key: refuse now (DisabledException /
    // KMSInvalidStateException) rather than start a job that can only fail; a key disabled to contain
    // the leak is enabled again for the response (docs/INCIDENTS.md)
    const rec = await this.deps.kms.store.readKey(keyId);
    if (rec) requireEnabled(rec.value);
    const data: KeyIncidentData = {
      key: keyId, reportedBy: o.reportedBy, ...this.window(o), disablePrincipals: o.disablePrincipals === true,
      allowedPrincipals: o.allowedPrincipals ?? [], actions: [],
    };
    const job = await this.enqueue({ kind: KIND_COMPROMISED_KEY, target: keyId, data, step: 'record', maxAttempts: 10 }, o.beforeCommit);
    return { id: job.id };
  }

  /** Opens a compromised-credentials incident for a secret (name or ARN) or an access key id. */
  async compromisedCredentials(o: { credential: string; reportedBy: string; beforeCommit?: BeforeCommit } & Window): Promise<{ id: string; type: 'secret' | 'access-key' }> {
    const type = ACCESS_KEY_ID.test(o.credential) ? 'access-key' as const : 'secret' as const;
    if (type === 'secret' && !(await this.deps.secrets.ctx.find(o.credential))) throw new ValidationException(`no secret ${o.credential} (give a secret name or ARN, or an access key id)`);
    if (type === 'access-key' && !(await this.deps.iam.accessKeys.get(o.credential))) throw new ValidationException(`no access key ${o.credential}`);
    const data: CredentialsIncidentData = { credential: o.credential, type, reportedBy: o.reportedBy, ...this.window(o), actions: [], notes: [] };
    const job = await this.enqueue({ kind: KIND_COMPROMISED_CREDENTIALS, target: o.credential, data, step: 'record', maxAttempts: 10 }, o.beforeCommit);
    return { id: job.id, type };
  }

  async get(id: string): Promise<IncidentView | null> {
    const job = await this.jobs().get(id);
    if (!job || (job.kind !== KIND_COMPROMISED_KEY && job.kind !== KIND_COMPROMISED_CREDENTIALS)) return null;
    const incident = (await this.deps.barrier.getJSON<IncidentRecord>(incidentPath(id)))?.value ?? null;
    const report = (await this.deps.barrier.getJSON<IncidentReport>(reportPath(id)))?.value ?? null;
    return {
      id, kind: job.kind, state: job.state, step: job.step, ...(job.progress ? { progress: job.progress } : {}), ...(job.lastError ? { lastError: job.lastError } : {}),
      incident, report,
    };
  }
}
