// Keys: the list (state, rotation period, last and next rotation, usage budget and use). Every number
// comes from the KMS API or /v1, signed as the signed-in principal.
import { kms, kmsAll, admin } from './api.js';
import { html, useLoad, ErrorBox, Loading, When, Empty, PageTitle, mapLimit, settle, BudgetUse } from './ui.js';

async function loadKeys() {
  const [keys, aliases] = await Promise.all([kmsAll('ListKeys', { Limit: 100 }, 'Keys'), settle(kmsAll('ListAliases', { Limit: 100 }, 'Aliases'))]);
  const names = new Map();
  for (const a of aliases.value ?? []) if (a.TargetKeyId) names.set(a.TargetKeyId, [...(names.get(a.TargetKeyId) ?? []), a.AliasName]);
  const rows = await mapLimit(keys, 6, async (k) => {
    const [md, rot, hist, usage] = await Promise.all([
      settle(kms('DescribeKey', { KeyId: k.KeyId })),
      settle(kms('GetKeyRotationStatus', { KeyId: k.KeyId })),
      settle(kmsAll('ListKeyRotations', { KeyId: k.KeyId, Limit: 1000 }, 'Rotations')),
      settle(admin('GET', `/v1/kms/keys/${encodeURIComponent(k.KeyId)}/usage-budget`)),
    ]);
    const rotations = hist.value ?? [];
    return {
      id: k.KeyId, aliases: names.get(k.KeyId) ?? [], md: md.value?.KeyMetadata, mdError: md.error, rot: rot.value, rotError: rot.error,
      last: rotations.at(-1)?.RotationDate, lastError: hist.error, usage: usage.value, usageError: usage.error,
    };
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
      <thead><tr><th scope="col">Key</th><th scope="col">State</th><th scope="col">Automatic rotation</th><th scope="col">Last rotation</th><th scope="col">Next rotation</th><th scope="col">Budget use (current material)</th><th scope="col">Description</th></tr></thead>
      <tbody>${data.rows.map((r) => html`<tr key=${r.id}>
        <th scope="row"><a href=${`#/keys/${encodeURIComponent(r.id)}`}>${r.aliases[0] ?? r.id}</a>${r.aliases[0] ? html`<div class="sub">${r.id}</div>` : null}</th>
        <td>${r.md ? html`<span class=${`state state-${r.md.KeyState}`}>${r.md.KeyState}</span>` : html`<${Denied} error=${r.mdError} />`}</td>
        <td>${r.rot ? (r.rot.KeyRotationEnabled ? `every ${r.rot.RotationPeriodInDays} days` : 'off') : html`<${Denied} error=${r.rotError} />`}</td>
        <td>${r.lastError ? html`<${Denied} error=${r.lastError} />` : html`<${When} value=${r.last} />`}</td>
        <td>${r.rot ? html`<${When} value=${r.rot.NextRotationDate} />` : html`<span class="none">—</span>`}</td>
        <td>${r.usage ? html`<${BudgetUse} view=${r.usage} />` : html`<${Denied} error=${r.usageError} />`}</td>
        <td>${r.md?.Description ?? ''}</td>
      </tr>`)}</tbody>
    </table>` : null}
  </section>`;
}

