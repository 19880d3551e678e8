// The incident.compromised-key job (docs/INCIDENTS.md). Steps, each idempotent, each committing its
// record with its result (src/jobs/kinds.ts):
//
//   record   resolve the key; every material version it has now is treated as compromised;
//            incidents/<id> written
//   rotate   a new material version made current (an on-demand rotation, outside the on-demand
//            quota: containment must not wait for a quota); skipped when the current material is
//            already a new one (a re-run after a crash)
//   rewrap   every ciphertext rekey holds under the key and made with compromised material is
//            re-encrypted to the new material: secret values (committed with the step), instance
//            volume keys and snapshot data keys (each its own compare-and-swap, idempotent)
//   uses     every audit event in the window naming the key or anything it protects ->
//            incidents/<id>/uses; by principal, with source addresses and operations
//   disable  (only with disablePrincipals) the access keys of principals whose use was outside
//            policy are made Inactive and their STS sessions revoked
//   report   the signed report -> incidents/<id>/report
import { NotFoundException } from '../../errors.ts';
import { Barrier } from '../../storage/barrier.ts';
import type { Op } from '../../storage/backend.ts';
import type { Job } from '../../jobs/model.ts';
import type { StepContext, StepResult } from '../../jobs/kinds.ts';
import { requireEnabled } from '../../kms/context.ts';
import { newKeyMaterial } from '../../kms/material.ts';
import { RotationType, type KeyRecord } from '../../kms/model.ts';
import { type IncidentDeps, incidentProbe, recordStep } from './deps.ts';
import { secretsHolder, type KeyHolder } from './holdings.ts';
import { byPrincipal, incidentPath, KIND_COMPROMISED_KEY, reportPath, usesPath, type Holding, type IncidentRecord, type PrincipalUse, type UsesRecord } from './model.ts';
import type { IncidentAction, IncidentReport } from './report.ts';
import { signIncidentReport } from './report.ts';
import { scanUses, windowFinal } from './uses.ts';
import { disablePrincipals, type Disabled } from './disable.ts';

export interface KeyIncidentData {
  /** The key as reported (id, ARN or alias). */
  key: string;
  reportedBy: string;
  from: string;
  to: string;
  disablePrincipals: boolean;
  allowedPrincipals: string[];
  keyId?: string;
  keyArn?: string;
  compromised?: string[];
  actions: IncidentAction[];
  holdings?: Holding[];
  uses?: { total: number; truncated: boolean; byPrincipal: PrincipalUse[] };
  disabled?: Disabled[];
}

const STEPS = ['record', 'rotate', 'rewrap', 'uses', 'disable', 'report'] as const;
const progress = (step: string, message: string) => ({ done: STEPS.indexOf(step as (typeof STEPS)[number]), total: STEPS.length, message });

export function compromisedKeyHandler(d: IncidentDeps) {
  const holders = (): KeyHolder[] => [secretsHolder(d.barrier, d.kms), ...(d.holders ?? [])];
  const loadKey = async (keyId: string): Promise<KeyRecord> => {
    const k = await d.kms.store.readKey(keyId);
    if (!k) throw new NotFoundException(`Key '${keyId}' does not exist`);
    return k.value;
  };
  const act = (data: KeyIncidentData, step: string, at: Date, outcome: string): IncidentAction[] => [...data.actions.filter((a) => a.step !== step), { step, at: at.toISOString(), outcome }];

  // the progress shown between steps names the step that runs next
  return async (job: Readonly<Job<KeyIncidentData>>, ctx: StepContext): Promise<StepResult<KeyIncidentData>> => {
    const r = await run(job, ctx);
    return 'next' in r && !r.progress ? { ...r, progress: progress(r.next, `next: ${r.next}`) } : r;
  };

  async function run(job: Readonly<Job<KeyIncidentData>>, ctx: StepContext): Promise<StepResult<KeyIncidentData>> {
    const data = job.data;
    const now = ctx.now();
    const step = job.step === 'start' ? 'record' : job.step;
    ctx.progress(progress(step, step));
    switch (step) {
      case 'record': {
        const keyId = await d.kms.lifecycle.resolveExisting(data.key);
        const rec = await loadKey(keyId);
        const compromised = rec.materials.map((m) => m.id);
        const incident: IncidentRecord = { v: 1, id: job.id, kind: KIND_COMPROMISED_KEY, target: rec.arn, reportedBy: data.reportedBy, openedAt: new Date(job.createdAt).toISOString(), window: { from: data.from, to: data.to } };
        await recordStep(d, 'OpenIncident', job.id, [rec.arn], { kind: KIND_COMPROMISED_KEY, compromisedVersions: compromised.length }, now);
        incidentProbe.at('record');
        return {
          next: 'rotate', ops: [Barrier.putOp(incidentPath(job.id), incident)],
          data: { ...data, keyId, keyArn: rec.arn, compromised, actions: act(data, 'record', now, `incident opened by ${data.reportedBy}; ${compromised.length} material version(s) treated as compromised`) },
        };
      }
      case 'rotate': {
        const compromised = new Set(data.compromised);
        const before = await loadKey(data.keyId!);
        let outcome: string;
        if (!compromised.has(before.currentMaterialId)) {
          outcome = `already rotated: current material ${before.currentMaterialId.slice(0, 16)}…`;
        } else {
          await recordStep(d, 'RotateKeyOnDemand', job.id, [before.arn], { keyId: before.keyId }, now);
          const rec = await d.kms.store.updateKey(data.keyId!, (r) => {
            if (!compromised.has(r.currentMaterialId)) return false; // another node (or an earlier run) rotated it
            requireEnabled(r);
            const m = newKeyMaterial(now.getTime(), RotationType.ON_DEMAND);
            r.materials.push(m);
            r.currentMaterialId = m.id;
            r.rotation = { ...r.rotation, onDemandCount: r.rotation.onDemandCount + 1 };
          }, () => new NotFoundException(`Key '${data.keyArn}' does not exist`));
          outcome = `rotated on demand: new current material ${rec.currentMaterialId.slice(0, 16)}…`;
        }
        incidentProbe.at('rotate');
        return { next: 'rewrap', data: { ...data, actions: act(data, 'rotate', now, outcome) } };
      }
      case 'rewrap': {
        const compromised = new Set(data.compromised);
        const ops: Op[] = [];
        const out: Holding[] = [];
        const all: { holder: KeyHolder; h: Holding }[] = [];
        for (const holder of holders()) for (const h of await holder.list(data.keyId!)) all.push({ holder, h });
        let done = 0;
        let rewrapped = 0;
        for (const { holder, h } of all) {
          if (h.materialIds.some((m) => compromised.has(m))) {
            const r = await holder.rewrap(h, data.keyId!, compromised);
            if (r.ops) ops.push(...r.ops);
            out.push(r.holding);
            rewrapped++;
          } else {
            out.push(h);
          }
          ctx.progress({ done: ++done, total: all.length, message: `re-wrapping ${h.type} ${h.id}` });
          incidentProbe.at('rewrap-item');
        }
        const left = out.filter((h) => h.materialIds.some((m) => compromised.has(m))).length;
        await recordStep(d, 'RewrapKeyHoldings', job.id, [data.keyArn!], { holdings: out.length, rewrapped, stillCompromised: left }, now);
        incidentProbe.at('rewrap');
        return { next: 'uses', ops, data: { ...data, holdings: out, actions: act(data, 'rewrap', now, `${out.length} holding(s) under the key; ${rewrapped} re-wrapped to the new material; ${left} still under compromised material`) } };
      }
      case 'uses': {
        // audit times have whole seconds: read once the window's last second is over, so the list is final
        const final = windowFinal(data.to);
        if (now.getTime() < final) return { retryAt: new Date(final) };
        await d.audit?.settled?.();
        const resources = new Set([data.keyArn!, ...(data.holdings ?? []).map((h) => h.arn)]);
        const uses: UsesRecord = await scanUses(d.barrier, new Date(data.from), new Date(data.to), { resources });
        const people = byPrincipal(uses.events, data.allowedPrincipals);
        const outside = people.filter((p) => p.outsidePolicy).length;
        incidentProbe.at('uses');
        return {
          next: 'disable', ops: [Barrier.putOp(usesPath(job.id), uses)],
          data: { ...data, uses: { total: uses.events.length, truncated: uses.truncated, byPrincipal: people }, actions: act(data, 'uses', now, `${uses.events.length} recorded use(s) by ${people.length} principal(s) from ${data.from} to ${data.to}; ${outside} outside policy`) },
        };
      }
      case 'disable': {
        if (!data.disablePrincipals) return { next: 'report', data: { ...data, disabled: [], actions: act(data, 'disable', now, 'not asked (--disable-principals)') } };
        const targets = (data.uses?.byPrincipal ?? []).filter((p) => p.outsidePolicy && p.principal !== data.reportedBy);
        const disabled = await disablePrincipals(d, job.id, targets, now);
        incidentProbe.at('disable');
        return { next: 'report', data: { ...data, disabled, actions: act(data, 'disable', now, `${disabled.length} principal(s) disabled: ${disabled.map((x) => x.principal).join(', ') || 'none'}`) } };
      }
      case 'report': {
        const rec = await loadKey(data.keyId!);
        const compromised = new Set(data.compromised);
        const incident = (await d.barrier.getJSON<IncidentRecord>(incidentPath(job.id)))!.value;
        const uses = (await d.barrier.getJSON<UsesRecord>(usesPath(job.id)))?.value ?? { events: [], truncated: false };
        const holdings = data.holdings ?? [];
        const still = holdings.filter((h) => h.materialIds.some((m) => compromised.has(m)));
        const current = rec.materials.find((m) => m.id === rec.currentMaterialId)!;
        const actions = act(data, 'report', now, 'report signed with the audit signing key');
        const report: IncidentReport = {
          format: 'rekey-incident-report', version: 1, incident, generatedAt: now.toISOString(),
          key: {
            arn: rec.arn, keyId: rec.keyId,
            compromisedMaterials: rec.materials.filter((m) => compromised.has(m.id)).map((m) => ({ id: m.id, createdAt: new Date(m.createdAt).toISOString() })),
            currentMaterial: { id: current.id, createdAt: new Date(current.createdAt).toISOString() },
          },
          actions, holdings, stillCompromised: still,
          needChangeKey: [...new Set(holdings.filter((h) => h.type === 'db-instance' && !h.id.includes('#')).map((h) => h.id))],
          uses: { total: uses.events.length, truncated: uses.truncated, byPrincipal: data.uses?.byPrincipal ?? [], events: uses.events },
          disabled: data.disabled ?? [],
          notes: [
            'The compromised material versions stay in the key so that ciphertexts held outside rekey still decrypt (as AWS KMS keeps every version); re-encrypt those with ReEncrypt, or schedule the key\'s deletion once nothing needs it.',
            'Re-wrapping replaces the material a stored ciphertext is made with, not the data key or secret value under it: whoever copied an old ciphertext and holds the old material can still open that copy. Rotate the secrets (rekey incident compromised-credentials) and change the instances\' volume keys (rekey db change-key) for a complete remedy.',
          ],
        };
        const signed = signIncidentReport(report, await d.signer());
        await recordStep(d, 'SignIncidentReport', job.id, [rec.arn], { stillCompromised: still.length, uses: uses.events.length }, now);
        incidentProbe.at('report');
        return { done: true, ops: [Barrier.putOp(reportPath(job.id), signed)], data: { ...data, actions }, progress: { done: STEPS.length, total: STEPS.length, message: 'report written' } };
      }
      default:
        throw new Error(`${KIND_COMPROMISED_KEY}: unknown step ${step}`);
    }
  }
}
