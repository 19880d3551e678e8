// Secrets: the list (KMS key, rotation schedule, last and next rotation) and one secret's page:
// versions with their staging labels, the rotation schedule, and the rotation history with each
// step's outcome (the secrets.rotate jobs and their audit events). Values are never requested.
import { useEffect, useState } from 'preact/hooks';
import { secrets, admin } from './api.js';
import { html, useLoad, ErrorBox, Loading, When, Empty, PageTitle, settle } from './ui.js';

const keyLink = (k) => (k ? html`<a href=${`#/keys/${encodeURIComponent(k)}`}>${k}</a>` : html`<span class="sub">aws/secretsmanager (default)</span>`);

function schedule(s) {
  if (!s.RotationEnabled) return 'off';
  const r = s.RotationRules ?? {};
  return r.ScheduleExpression ?? (r.AutomaticallyAfterDays ? `every ${r.AutomaticallyAfterDays} days` : 'on');
}

async function listAll() {
  const out = [];
  let token;
  do {
    const page = await secrets('ListSecrets', { MaxResults: 100, ...(token ? { NextToken: token } : {}) });
    out.push(...(page.SecretList ?? []));
    token = page.NextToken;
  } while (token && out.length < 1000);
  return out;
}

export function SecretsPage() {
  const { data, error, loading, reload } = useLoad(listAll, []);
  return html`<section aria-labelledby="page-title">
    <${PageTitle}>Secrets<//>
    <p><button type="button" onClick=${reload} disabled=${loading}>Refresh</button></p>
    <${ErrorBox} error=${error} what="ListSecrets" />
    ${loading && !data ? html`<${Loading} what="secrets" />` : null}
    ${data && data.length === 0 ? html`<${Empty}>No secrets are visible to you.<//>` : null}
    ${data && data.length > 0 ? html`<table class="grid">
      <caption>${data.length} secret${data.length === 1 ? '' : 's'}</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">KMS key</th><th scope="col">Rotation</th><th scope="col">Last rotated</th><th scope="col">Next rotation</th><th scope="col">Last changed</th></tr></thead>
      <tbody>${data.map((s) => html`<tr key=${s.ARN}>
        <th scope="row"><a href=${`#/secrets/${encodeURIComponent(s.ARN)}`}>${s.Name}</a>${s.DeletedDate ? html` <span class="denied">scheduled for deletion</span>` : null}</th>
        <td>${keyLink(s.KmsKeyId)}</td><td>${schedule(s)}</td>
        <td><${When} value=${s.LastRotatedDate} /></td><td><${When} value=${s.NextRotationDate} /></td><td><${When} value=${s.LastChangedDate} /></td>
      </tr>`)}</tbody>
    </table>` : null}
  </section>`;
}

// AWS requires ClientRequestToken on RotateSecret (the SDKs fill it in); getRandomValues also works
// outside secure contexts, where crypto.randomUUID does not exist. 32 hex characters (the minimum).
const requestToken = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
const ROTATION_EVENTS = new Set(['RotationStarted', 'RotationSucceeded', 'RotationFailed', 'RotateSecret', 'CancelRotateSecret']);

/** The secrets.rotate jobs that are queued, running or failed (finished ones are in the history). */
async function openJobs() {
  const pages = await Promise.all(['queued', 'running', 'failed'].map((state) => admin('GET', '/v1/jobs', { kind: 'secrets.rotate', state, limit: 1000 })));
  return { jobs: pages.flatMap((p) => p.jobs) };
}

async function loadSecret(id) {
  const d = await secrets('DescribeSecret', { SecretId: id });
  const [versions, jobs, events] = await Promise.all([
    settle(secrets('ListSecretVersionIds', { SecretId: d.ARN, IncludeDeprecated: true, MaxResults: 100 })),
    settle(openJobs()),
    settle(admin('GET', '/v1/audit/events', { resource: d.ARN, maxResults: 500 })),
  ]);
  return { d, versions, jobs, events };
}

const inFlight = (data) => (data?.jobs.value?.jobs ?? []).some((j) => (j.target === data.d.ARN) && (j.state === 'queued' || j.state === 'running'));

export function SecretPage({ id }) {
  const { data, error, loading, reload } = useLoad(() => loadSecret(id), [id]);
  const [action, setAction] = useState({ busy: false });
  // live: while a rotation of this secret is queued or running, the page refreshes every second
  useEffect(() => {
    if (!inFlight(data)) return undefined;
    const t = setTimeout(reload, 1000);
    return () => clearTimeout(t);
  }, [data]);
  if (loading && !data) return html`<${Loading} what="the secret" />`;
  if (error) return html`<section><${PageTitle}>Secret<//><${ErrorBox} error=${error} what="DescribeSecret" /></section>`;
  const { d, versions, jobs, events } = data;
  const rotateNow = async () => {
    setAction({ busy: true });
    try {
      const out = await secrets('RotateSecret', { SecretId: d.ARN, ClientRequestToken: requestToken() });
      setAction({ busy: false, done: `Rotation started: version ${out.VersionId} (a secrets.rotate job runs its four steps).` });
      reload();
    } catch (e) {
      setAction({ busy: false, error: e });
    }
  };
  const rows = versions.value?.Versions ?? Object.entries(d.VersionIdsToStages ?? {}).map(([VersionId, VersionStages]) => ({ VersionId, VersionStages }));
  rows.sort((a, b) => (b.CreatedDate ?? 0) - (a.CreatedDate ?? 0));
  const myJobs = (jobs.value?.jobs ?? []).filter((j) => j.target === d.ARN).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const history = (events.value?.events ?? []).map((r) => r.event).filter((e) => ROTATION_EVENTS.has(e.eventName));
  return html`<section aria-labelledby="page-title">
    <${PageTitle}>Secret ${d.Name}<//>
    <dl class="facts">
      <dt>ARN</dt><dd><code>${d.ARN}</code></dd>
      <dt>Description</dt><dd>${d.Description || html`<span class="none">—</span>`}</dd>
      <dt>KMS key</dt><dd>${keyLink(d.KmsKeyId)}</dd>
      <dt>Rotation</dt><dd>${schedule(d)}${d.RotationLambdaARN ? html` <span class="sub">by <code>${d.RotationLambdaARN}</code></span>` : null}</dd>
      <dt>Last rotated</dt><dd><${When} value=${d.LastRotatedDate} /></dd>
      <dt>Next rotation</dt><dd><${When} value=${d.NextRotationDate} /></dd>
      <dt>Created</dt><dd><${When} value=${d.CreatedDate} /></dd>
      ${d.DeletedDate ? html`<dt>Deletion</dt><dd class="denied">scheduled, <${When} value=${d.DeletedDate} /></dd>` : null}
    </dl>
    <div class="actions">
      <div class="row">
      <button type="button" class="secondary" onClick=${reload} disabled=${loading}>Refresh</button>
      <button type="button" onClick=${rotateNow} disabled=${action.busy || !d.RotationLambdaARN || Boolean(d.DeletedDate)}>${action.busy ? 'Starting…' : 'Rotate now'}</button>
      </div>
      <p class="hint">${d.RotationLambdaARN ? 'Starts a rotation now (RotateSecret) with the configured strategy.' : 'Rotation is not configured for this secret.'}</p>
      <${ErrorBox} error=${action.error} what="Rotate now" />
      ${action.done ? html`<p class="ok" role="status">${action.done}</p>` : null}
    </div>
    <h2>Versions and staging labels</h2>
    <${ErrorBox} error=${versions.error} what="ListSecretVersionIds" />
    <table class="grid"><thead><tr><th scope="col">Version</th><th scope="col">Labels</th><th scope="col">Created</th><th scope="col">Last accessed</th></tr></thead>
      <tbody>${rows.map((v) => html`<tr key=${v.VersionId}><td><code>${v.VersionId}</code></td>
        <td>${(v.VersionStages ?? []).length === 0 ? html`<span class="sub">deprecated</span>` : v.VersionStages.map((l) => html`<span class=${`label label-${l}`}>${l}</span> `)}</td>
        <td><${When} value=${v.CreatedDate} /></td><td><${When} value=${v.LastAccessedDate} /></td></tr>`)}</tbody></table>
    <h2>Rotations in progress or failed${inFlight(data) ? html` <span class="count" role="status">(refreshing)</span>` : null}</h2>
    ${jobs.error ? html`<${ErrorBox} error=${jobs.error} what="ListJobs" />` : myJobs.length === 0 ? html`<${Empty}>None: every rotation has finished (see the history).<//>` : html`<table class="grid">
      <thead><tr><th scope="col">Started</th><th scope="col">State</th><th scope="col">Step</th><th scope="col">Attempt</th><th scope="col">Version</th><th scope="col">Last error</th></tr></thead>
      <tbody>${myJobs.map((j) => html`<tr key=${j.id}><td><${When} value=${j.createdAt} /></td><td><span class=${`job job-${j.state}`}>${j.state}</span></td><td>${j.step}</td><td>${j.attempt}/${j.maxAttempts}</td>
        <td><code>${j.data?.versionId ?? ''}</code></td><td>${j.lastError ? `${j.lastError.step}: ${j.lastError.name}: ${j.lastError.message}` : ''}</td></tr>`)}</tbody>
    </table>`}
    <h2>Rotation history</h2>
    ${events.error ? html`<${ErrorBox} error=${events.error} what="LookupAuditEvents" />` : history.length === 0 ? html`<${Empty}>No rotation events.<//>` : html`<table class="grid">
      <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Step</th><th scope="col">Outcome</th></tr></thead>
      <tbody>${history.map((e) => html`<tr key=${e.eventID}><td><${When} value=${e.eventTime} /></td><td>${e.eventName}</td><td>${e.additionalEventData?.step ?? ''}</td>
        <td>${e.errorCode || e.additionalEventData?.errorName ? html`<span class="denied">${e.errorCode ?? e.additionalEventData.errorName}</span>` : 'ok'}</td></tr>`)}</tbody>
    </table>`}
  </section>`;
}
