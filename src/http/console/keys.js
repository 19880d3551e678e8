// Keys: the list (state, rotation, last and next rotation) and one key's page (rotation timeline,
// dependents, recent audit events, Rotate now). Every number comes from the KMS API or /v1.
import { useState } from 'preact/hooks';
import { kms, kmsAll, admin } from './api.js';
import { html, useLoad, ErrorBox, Loading, When, Empty, PageTitle, mapLimit, settle, toDate } from './ui.js';

const ROTATION_LABEL = { AUTOMATIC: 'Automatic', ON_DEMAND: 'On demand' };

async function loadKeys() {
  const [keys, aliases] = await Promise.all([kmsAll('ListKeys', { Limit: 100 }, 'Keys'), settle(kmsAll('ListAliases', { Limit: 100 }, 'Aliases'))]);
  const names = new Map();
  for (const a of aliases.value ?? []) if (a.TargetKeyId) names.set(a.TargetKeyId, [...(names.get(a.TargetKeyId) ?? []), a.AliasName]);
  const rows = await mapLimit(keys, 6, async (k) => {
    const [md, rot, hist] = await Promise.all([
      settle(kms('DescribeKey', { KeyId: k.KeyId })),
      settle(kms('GetKeyRotationStatus', { KeyId: k.KeyId })),
      settle(kmsAll('ListKeyRotations', { KeyId: k.KeyId, Limit: 1000 }, 'Rotations')),
    ]);
    const rotations = hist.value ?? [];
    return { id: k.KeyId, aliases: names.get(k.KeyId) ?? [], md: md.value?.KeyMetadata, mdError: md.error, rot: rot.value, rotError: rot.error, last: rotations.at(-1)?.RotationDate, lastError: hist.error };
  });
  return { rows, aliasError: aliases.error };
}

function Denied({ error }) {
  return error ? html`<span class="denied" title=${error.message}>${error.code}</span>` : html`<span class="none">—</span>`;
}

export function KeysPage() {
  const { data, error, loading, reload } = useLoad(loadKeys, []);
  return html`<section aria-labelledby="page-title">
    <${PageTitle}>Keys<//>
    <p><button type="button" onClick=${reload} disabled=${loading}>Refresh</button></p>
    <${ErrorBox} error=${error} what="ListKeys" />
    ${loading && !data ? html`<${Loading} what="keys" />` : null}
    ${data && data.rows.length === 0 ? html`<${Empty}>No keys are visible to you.<//>` : null}
    ${data && data.rows.length > 0 ? html`<table class="grid">
      <caption>${data.rows.length} key${data.rows.length === 1 ? '' : 's'}</caption>
      <thead><tr><th scope="col">Key</th><th scope="col">State</th><th scope="col">Automatic rotation</th><th scope="col">Last rotation</th><th scope="col">Next rotation</th><th scope="col">Description</th></tr></thead>
      <tbody>${data.rows.map((r) => html`<tr key=${r.id}>
        <th scope="row"><a href=${`#/keys/${encodeURIComponent(r.id)}`}>${r.aliases[0] ?? r.id}</a>${r.aliases[0] ? html`<div class="sub">${r.id}</div>` : null}</th>
        <td>${r.md ? html`<span class=${`state state-${r.md.KeyState}`}>${r.md.KeyState}</span>` : html`<${Denied} error=${r.mdError} />`}</td>
        <td>${r.rot ? (r.rot.KeyRotationEnabled ? `every ${r.rot.RotationPeriodInDays} days` : 'off') : html`<${Denied} error=${r.rotError} />`}</td>
        <td>${r.lastError ? html`<${Denied} error=${r.lastError} />` : html`<${When} value=${r.last} />`}</td>
        <td>${r.rot ? html`<${When} value=${r.rot.NextRotationDate} />` : html`<span class="none">—</span>`}</td>
        <td>${r.md?.Description ?? ''}</td>
      </tr>`)}</tbody>
    </table>` : null}
  </section>`;
}

async function loadKey(id) {
  const md = (await kms('DescribeKey', { KeyId: id })).KeyMetadata;
  const [rot, materials, aliases, deps, events] = await Promise.all([
    settle(kms('GetKeyRotationStatus', { KeyId: md.KeyId })),
    settle(kmsAll('ListKeyRotations', { KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 1000 }, 'Rotations')),
    settle(kmsAll('ListAliases', { KeyId: md.KeyId, Limit: 100 }, 'Aliases')),
    settle(admin('GET', `/v1/kms/keys/${encodeURIComponent(md.KeyId)}/dependents`)),
    settle(admin('GET', '/v1/audit/events', { resource: md.Arn, maxResults: 20 })),
  ]);
  return { md, rot, materials, aliases, deps, events };
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
      ${m.current ? html` <span class="badge">current</span>` : null}
      <code class="sub" title="Key material id">${m.id.slice(0, 16)}…</code>
    </li>`)}</ol>
  </div>`;
}

export function KeyPage({ id }) {
  const { data, error, loading, reload } = useLoad(() => loadKey(id), [id]);
  const [action, setAction] = useState({ busy: false, error: undefined, done: undefined });
  const rotateNow = async () => {
    setAction({ busy: true, error: undefined, done: undefined });
    try {
      await kms('RotateKeyOnDemand', { KeyId: data.md.KeyId });
      setAction({ busy: false, error: undefined, done: 'Rotated: a new key material version is current.' });
      reload();
    } catch (e) {
      setAction({ busy: false, error: e, done: undefined });
    }
  };
  if (loading && !data) return html`<${Loading} what="the key" />`;
  if (error) return html`<section><${PageTitle}>Key ${id}<//><${ErrorBox} error=${error} what="DescribeKey" /></section>`;
  const { md, rot, materials, aliases, deps, events } = data;
  return html`<section aria-labelledby="page-title">
    <${PageTitle}>Key ${aliases.value?.[0]?.AliasName ?? md.KeyId}<//>
    <dl class="facts">
      <dt>Key id</dt><dd><code>${md.KeyId}</code></dd>
      <dt>ARN</dt><dd><code>${md.Arn}</code></dd>
      <dt>State</dt><dd><span class=${`state state-${md.KeyState}`}>${md.KeyState}</span>${md.DeletionDate ? html` (deletion on <${When} value=${md.DeletionDate} />)` : null}</dd>
      <dt>Description</dt><dd>${md.Description || html`<span class="none">—</span>`}</dd>
      <dt>Created</dt><dd><${When} value=${md.CreationDate} /></dd>
      <dt>Automatic rotation</dt><dd>${rot.value ? (rot.value.KeyRotationEnabled ? `every ${rot.value.RotationPeriodInDays} days` : 'off') : html`<${ErrorBox} error=${rot.error} />`}</dd>
      <dt>Next rotation</dt><dd><${When} value=${rot.value?.NextRotationDate} /></dd>
    </dl>
    <div class="actions">
      <button type="button" onClick=${rotateNow} disabled=${action.busy || md.KeyState !== 'Enabled'}>${action.busy ? 'Rotating…' : 'Rotate now'}</button>
      <p class="hint">Adds a new key material version at once (RotateKeyOnDemand); older versions still decrypt.</p>
      <${ErrorBox} error=${action.error} what="Rotate now" />
      ${action.done ? html`<p class="ok" role="status">${action.done}</p>` : null}
    </div>
    <h2>Rotation timeline</h2>
    ${materials.value ? html`<${Timeline} materials=${materials.value} created=${md.CreationDate} />` : html`<${ErrorBox} error=${materials.error} what="ListKeyRotations" />`}
    <h2>Dependents</h2>
    ${deps.error ? html`<${ErrorBox} error=${deps.error} what="ListKeyDependents" />`
      : deps.value.dependents.length === 0 ? html`<${Empty}>No rekey resource uses this key.<//>`
        : html`<table class="grid"><thead><tr><th scope="col">Type</th><th scope="col">Name</th><th scope="col">ARN</th><th scope="col">Since</th></tr></thead>
          <tbody>${deps.value.dependents.map((d) => html`<tr key=${d.arn}><td>${d.type}</td><td>${d.name}</td><td><code>${d.arn}</code></td><td><${When} value=${new Date(d.registeredAt).toISOString()} /></td></tr>`)}</tbody></table>`}
    <h2>Recent events</h2>
    ${events.error ? html`<${ErrorBox} error=${events.error} what="LookupAuditEvents" />` : html`<p><a href=${`#/audit?resource=${encodeURIComponent(md.Arn)}`}>All events for this key</a></p><ul class="plain">${events.value.events.map(({ event: e, node, seq }) => html`<li key=${`${node}/${seq}`}><${When} value=${e.eventTime} /> <strong>${e.eventName}</strong> by ${e.userIdentity?.arn ?? e.userIdentity?.invokedBy ?? e.userIdentity?.type ?? '?'}${e.errorCode ? html` <span class="denied">${e.errorCode}</span>` : null}</li>`)}</ul>`}
  </section>`;
}
