// One key's page: facts, usage against its budget, the actions a key administrator may take (Rotate now,
// Disable / Enable, Schedule / Cancel deletion, with the dependency guard's warning), the rotation
// timeline, cryptographic calls per day from the audit trail, policy, grants, dependents, recent events.
import { useState } from 'preact/hooks';
import { kms, kmsAll, admin } from './api.js';
import { html, useLoad, ErrorBox, Loading, When, Empty, PageTitle, settle, toDate, BudgetUse, BarChart } from './ui.js';

const ROTATION_LABEL = { AUTOMATIC: 'Automatic', ON_DEMAND: 'On demand' };
/** Calls that use the key material: what "usage" means on the per-day chart. */
const CRYPTO_CALLS = new Set(['Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']);
const DAY_MS = 86_400_000;
const USAGE_DAYS = 30;
const USAGE_PAGES = 5;

async function usagePerDay(arn) {
  const now = Date.now();
  const start = new Date(Math.floor(now / DAY_MS) * DAY_MS - (USAGE_DAYS - 1) * DAY_MS);
  const counts = new Array(USAGE_DAYS).fill(0);
  let nextToken;
  let pages = 0;
  do {
    const page = await admin('GET', '/v1/audit/events', { resource: arn, startTime: start.toISOString(), maxResults: 1000, nextToken });
    for (const { event } of page.events) {
      if (!CRYPTO_CALLS.has(event.eventName) || event.errorCode) continue;
      const day = Math.floor((Date.parse(event.eventTime) - start.getTime()) / DAY_MS);
      if (day >= 0 && day < USAGE_DAYS) counts[day]++;
    }
    nextToken = page.nextToken;
  } while (nextToken && ++pages < USAGE_PAGES);
  return { bins: counts.map((count, i) => ({ label: new Date(start.getTime() + i * DAY_MS).toISOString().slice(0, 10), count })), partial: Boolean(nextToken) };
}

async function loadKey(id) {
  const md = (await kms('DescribeKey', { KeyId: id })).KeyMetadata;
  const keyPath = `/v1/kms/keys/${encodeURIComponent(md.KeyId)}`;
  const [rot, materials, aliases, deps, events, usage, budget, policy, grants] = await Promise.all([
    settle(kms('GetKeyRotationStatus', { KeyId: md.KeyId })),
    settle(kmsAll('ListKeyRotations', { KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 1000 }, 'Rotations')),
    settle(kmsAll('ListAliases', { KeyId: md.KeyId, Limit: 100 }, 'Aliases')),
    settle(admin('GET', `${keyPath}/dependents`)),
    settle(admin('GET', '/v1/audit/events', { resource: md.Arn, maxResults: 200 })),
    settle(usagePerDay(md.Arn)),
    settle(admin('GET', `${keyPath}/usage-budget`)),
    settle(kms('GetKeyPolicy', { KeyId: md.KeyId, PolicyName: 'default' })),
    settle(kmsAll('ListGrants', { KeyId: md.KeyId, Limit: 100 }, 'Grants')),
  ]);
  return { md, keyPath, rot, materials, aliases, deps, events, usage, budget, policy, grants };
}

/** Material versions over time: an ordered list (the record) over a time axis (the picture). */
function Timeline({ materials, created }) {
  const items = materials.map((m, i) => ({
    id: m.KeyMaterialId, current: m.KeyMaterialState === 'CURRENT',
    at: toDate(m.RotationDate) ?? toDate(created), type: m.RotationType ? ROTATION_LABEL[m.RotationType] ?? m.RotationType : 'Created with the key', n: i + 1,
  }));
  const t0 = items[0]?.at?.getTime() ?? 0;
  const t1 = Math.max(Date.now(), items.at(-1)?.at?.getTime() ?? 0);
  const pos = (d) => (t1 > t0 && d ? (100 * (d.getTime() - t0)) / (t1 - t0) : 0);
  return html`<div class="timeline">
    <div class="axis" aria-hidden="true">${items.map((m) => html`<span class=${`dot ${m.current ? 'current' : ''} ${m.type === 'On demand' ? 'ondemand' : ''}`} style=${{ left: `${pos(m.at).toFixed(2)}%` }} title=${`v${m.n} ${m.type}`}></span>`)}</div>
    <ol class="versions" aria-label="Key material versions, oldest first">${items.map((m) => html`<li key=${m.id} class=${m.current ? 'current' : ''}>
      <span class="v">v${m.n}</span> <${When} value=${m.at?.toISOString()} /> <span class="type">${m.type}</span>
      ${m.current ? html`<span class="badge">current</span>` : null}
      <code class="sub" title="Key material id">${m.id.slice(0, 16)}…</code>
    </li>`)}</ol>
  </div>`;
}

function DependentsWarning({ deps, verb }) {
  if (deps.error) return html`<p class="warning">The key's dependents could not be listed (${deps.error.code}); rekey's dependency guard still checks them.</p>`;
  const list = deps.value.dependents;
  if (list.length === 0) return html`<p class="hint">No rekey resource uses this key.</p>`;
  return html`<div class="warning" role="note">
    <strong>${list.length} rekey resource${list.length === 1 ? ' uses' : 's use'} this key.</strong> ${verb} it makes them unable to decrypt:
    <ul>${list.map((d) => html`<li key=${d.arn}>${d.type} <code>${d.name}</code></li>`)}</ul>
    rekey's dependency guard refuses unless you override it (that also needs rekey:OverrideKeyDependencies).
  </div>`;
}

/**
 * The actions panel: each button is one API call; a refusal is shown as rekey answered it. Disable and
 * Schedule deletion are the KMS operations (key policy, identity policies, grants, MFA conditions and the
 * dependency guard all apply); only the guard's override goes through the admin route that allows it
 * (rekey:DisableKey / rekey:ScheduleKeyDeletion plus rekey:OverrideKeyDependencies, identity policies).
 */
function Actions({ data, reload }) {
  const { md, keyPath, deps } = data;
  const [open, setOpen] = useState(null);
  const [force, setForce] = useState(false);
  const [days, setDays] = useState(30);
  const [state, setState] = useState({ busy: false });
  const run = async (label, call, done) => {
    setState({ busy: true });
    try {
      const out = await call();
      setState({ busy: false, done: done(out), label });
      setOpen(null);
      setForce(false);
      reload();
    } catch (error) {
      setState({ busy: false, error, label });
    }
  };
  const toggle = (which) => { setOpen(open === which ? null : which); setForce(false); setState({ busy: false }); };
  const enabled = md.KeyState === 'Enabled';
  const pending = md.KeyState === 'PendingDeletion';
  return html`<div class="actions">
    <div class="row">
      <button type="button" onClick=${() => run('Rotate now', () => kms('RotateKeyOnDemand', { KeyId: md.KeyId }), () => 'Rotated: a new key material version is current.')} disabled=${state.busy || !enabled}>${state.busy && state.label === 'Rotate now' ? 'Rotating…' : 'Rotate now'}</button>
      ${enabled ? html`<button type="button" class="secondary" aria-expanded=${open === 'disable'} onClick=${() => toggle('disable')}>Disable…</button>` : null}
      ${md.KeyState === 'Disabled' ? html`<button type="button" class="secondary" onClick=${() => run('Enable', () => kms('EnableKey', { KeyId: md.KeyId }), () => 'Enabled.')} disabled=${state.busy}>Enable</button>` : null}
      ${pending ? html`<button type="button" class="secondary" onClick=${() => run('Cancel deletion', () => kms('CancelKeyDeletion', { KeyId: md.KeyId }), () => 'Deletion cancelled: the key is Disabled until you enable it.')} disabled=${state.busy}>Cancel deletion</button>`
        : html`<button type="button" class="secondary" aria-expanded=${open === 'delete'} onClick=${() => toggle('delete')}>Schedule deletion…</button>`}
    </div>
    <p class="hint">Rotate now adds a new key material version at once (RotateKeyOnDemand); older versions still decrypt.</p>
    ${open === 'disable' ? html`<div class="panel" role="group" aria-labelledby="disable-title">
      <h3 id="disable-title">Disable this key</h3>
      <${DependentsWarning} deps=${deps} verb="Disabling" />
      <label class="inline"><input type="checkbox" checked=${force} onChange=${(e) => setForce(e.currentTarget.checked)} /> Override the dependency guard</label>
      <button type="button" class="danger" disabled=${state.busy} onClick=${() => run('Disable', () => (force
        ? admin('POST', `${keyPath}/disable`, {}, { body: { force: true } })
        : kms('DisableKey', { KeyId: md.KeyId })), (o) => `Disabled${o.overriddenDependents?.length ? ` (${o.overriddenDependents.length} dependents overridden)` : ''}.`)}>Disable key</button>
    </div>` : null}
    ${open === 'delete' ? html`<div class="panel" role="group" aria-labelledby="delete-title">
      <h3 id="delete-title">Schedule deletion</h3>
      <p>After the waiting period the key and every material version are destroyed: data encrypted under it can never be decrypted again. Until then you can cancel.</p>
      <${DependentsWarning} deps=${deps} verb="Deleting" />
      <label class="short">Waiting period (days, 7 to 30) <input type="number" min="7" max="30" value=${days} onInput=${(e) => setDays(Number(e.currentTarget.value))} /></label>
      <label class="inline"><input type="checkbox" checked=${force} onChange=${(e) => setForce(e.currentTarget.checked)} /> Override the dependency guard</label>
      <button type="button" class="danger" disabled=${state.busy} onClick=${() => run('Schedule deletion', () => (force
        ? admin('POST', `${keyPath}/schedule-deletion`, {}, { body: { pendingWindowInDays: days, force: true } })
        : kms('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: days })), (o) => `Deletion scheduled for ${new Date(o.deletionDate ?? o.DeletionDate * 1000).toISOString()}.`)}>Schedule deletion</button>
    </div>` : null}
    <${ErrorBox} error=${state.error} what=${state.label} />
    ${state.done ? html`<p class="ok" role="status">${state.done}</p>` : null}
  </div>`;
}

function pretty(policy) {
  try { return JSON.stringify(JSON.parse(policy), null, 2); } catch { return policy; }
}

export function KeyPage({ id }) {
  const { data, error, loading, reload } = useLoad(() => loadKey(id), [id]);
  if (loading && !data) return html`<${Loading} what="the key" />`;
  if (error) return html`<section><${PageTitle}>Key ${id}<//><${ErrorBox} error=${error} what="DescribeKey" /></section>`;
  const { md, rot, materials, aliases, deps, events, usage, budget, policy, grants } = data;
  return html`<section aria-labelledby="page-title">
    <${PageTitle}>Key ${aliases.value?.[0]?.AliasName ?? md.KeyId}<//>
    <dl class="facts">
      <dt>Key id</dt><dd><code>${md.KeyId}</code></dd>
      <dt>ARN</dt><dd><code>${md.Arn}</code></dd>
      <dt>State</dt><dd><span class=${`state state-${md.KeyState}`}>${md.KeyState}</span>${md.DeletionDate ? html` (deletion on <${When} value=${md.DeletionDate} />)` : null}</dd>
      <dt>Description</dt><dd>${md.Description || html`<span class="none">—</span>`}</dd>
      <dt>Created</dt><dd><${When} value=${md.CreationDate} /></dd>
      <dt>Automatic rotation</dt><dd>${rot.value ? (rot.value.KeyRotationEnabled ? `every ${rot.value.RotationPeriodInDays} days` : 'off') : html`<span class="denied" title=${rot.error.message}>${rot.error.code}</span>`}</dd>
      <dt>Next rotation</dt><dd><${When} value=${rot.value?.NextRotationDate} /></dd>
      <dt>Budget use</dt><dd>${budget.value ? html`<${BudgetUse} view=${budget.value} />` : html`<span class="denied" title=${budget.error.message}>${budget.error.code}</span>`}</dd>
    </dl>
    <${Actions} data=${data} reload=${reload} />
    <h2>Rotation timeline</h2>
    ${materials.value ? html`<${Timeline} materials=${materials.value} created=${md.CreationDate} />` : html`<${ErrorBox} error=${materials.error} what="ListKeyRotations" />`}
    <h2>Usage per day</h2>
    ${usage.error ? html`<${ErrorBox} error=${usage.error} what="LookupAuditEvents" />`
      : html`<${BarChart} bins=${usage.value.bins} caption=${`Successful cryptographic calls per day, last ${USAGE_DAYS} days (UTC), from the audit trail${usage.value.partial ? ` (the first ${USAGE_PAGES * 1000} events only)` : ''}`} />`}
    <h2>Dependents</h2>
    ${deps.error ? html`<${ErrorBox} error=${deps.error} what="ListKeyDependents" />`
      : deps.value.dependents.length === 0 ? html`<${Empty}>No rekey resource uses this key.<//>`
        : html`<table class="grid"><thead><tr><th scope="col">Type</th><th scope="col">Name</th><th scope="col">ARN</th><th scope="col">Since</th></tr></thead>
          <tbody>${deps.value.dependents.map((d) => html`<tr key=${d.arn}><td>${d.type}</td><td>${d.name}</td><td><code>${d.arn}</code></td><td><${When} value=${new Date(d.registeredAt).toISOString()} /></td></tr>`)}</tbody></table>`}
    <h2>Grants</h2>
    ${grants.error ? html`<${ErrorBox} error=${grants.error} what="ListGrants" />`
      : grants.value.length === 0 ? html`<${Empty}>No grants.<//>`
        : html`<table class="grid"><thead><tr><th scope="col">Grantee</th><th scope="col">Operations</th><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Constraints</th></tr></thead>
          <tbody>${grants.value.map((g) => html`<tr key=${g.GrantId}><td><code>${g.GranteePrincipal}</code></td><td>${(g.Operations ?? []).join(', ')}</td><td>${g.Name ?? ''}</td><td><${When} value=${g.CreationDate} /></td><td>${g.Constraints ? html`<code>${JSON.stringify(g.Constraints)}</code>` : ''}</td></tr>`)}</tbody></table>`}
    <h2>Key policy</h2>
    ${policy.error ? html`<${ErrorBox} error=${policy.error} what="GetKeyPolicy" />` : html`<pre class="policy" tabindex="0" aria-label="Key policy (JSON)">${pretty(policy.value.Policy)}</pre>`}
    <h2>Recent events</h2>
    ${events.error ? html`<${ErrorBox} error=${events.error} what="LookupAuditEvents" />` : html`<${RecentEvents} events=${events.value.events} arn=${md.Arn} />`}
  </section>`;
}

const READ_ONLY = /^(Describe|Get|List)/;

/** The key's latest audited calls; reads of its metadata (this page's own, among others) only on request. */
function RecentEvents({ events, arn }) {
  const [reads, setReads] = useState(false);
  const shown = events.filter(({ event }) => reads || !READ_ONLY.test(event.eventName)).slice(0, 20);
  return html`<p class="row">
      <a href=${`#/audit?resource=${encodeURIComponent(arn)}`}>All events for this key</a>
      <label class="inline"><input type="checkbox" checked=${reads} onChange=${(e) => setReads(e.currentTarget.checked)} /> Include reads of its metadata (Describe, Get, List)</label>
    </p>
    ${shown.length === 0 ? html`<${Empty}>No such event among the latest ${events.length}.<//>` : html`<ul class="plain">${shown.map(({ event: e, node, seq }) => html`<li key=${`${node}/${seq}`}><${When} value=${e.eventTime} /> <strong>${e.eventName}</strong> by ${e.userIdentity?.arn ?? e.userIdentity?.invokedBy ?? e.userIdentity?.type ?? '?'}${e.errorCode ? html` <span class="denied">${e.errorCode}</span>` : null}</li>`)}</ul>`}`;
}
