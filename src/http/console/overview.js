// Overview: alarms (GET /v1/alarms: `rekey alarms ls`), what is running, what failed, and what the
// schedules will do next (GET /v1/jobs, GET /v1/jobs/upcoming: `rekey jobs ls --upcoming`). Each
// part shows its own refusal.
import { useState } from 'preact/hooks';
import { admin } from './api.js';
import { html, useLoad, ErrorBox, Loading, When, Empty, PageTitle, settle } from './ui.js';

const KIND_LABEL = { 'kms.rotate': 'Key rotation', 'kms.delete': 'Key deletion', 'secrets.rotate': 'Secret rotation', 'secrets.delete': 'Secret deletion' };

async function loadOverview(days) {
  const [alarms, running, queued, failed, upcoming] = await Promise.all([
    settle(admin('GET', '/v1/alarms')),
    settle(admin('GET', '/v1/jobs', { state: 'running', limit: 100 })),
    settle(admin('GET', '/v1/jobs', { state: 'queued', limit: 100 })),
    settle(admin('GET', '/v1/jobs', { state: 'failed', limit: 100 })),
    settle(admin('GET', '/v1/jobs/upcoming', { days })),
  ]);
  return { alarms, running, queued, failed, upcoming, days };
}

/** Alarms in ALARM first, then the others; a server without alarms (alarms.enabled false) answers 404. */
function Alarms({ result }) {
  if (result.error) return html`<h2>Alarms</h2>${result.error.status === 404 ? html`<${Empty}>Alarms are off on this server.<//>` : html`<${ErrorBox} error=${result.error} what="ListAlarms" />`}`;
  const alarms = [...result.value.alarms].sort((a, b) => (a.state === b.state ? a.name.localeCompare(b.name) : a.state === 'ALARM' ? -1 : 1));
  const firing = alarms.filter((a) => a.state === 'ALARM').length;
  return html`<h2>Alarms <span class="count">${firing} in ALARM of ${alarms.length}</span></h2>
    <table class="grid" aria-label="Alarms">
      <thead><tr><th scope="col">State</th><th scope="col">Alarm</th><th scope="col">Since</th><th scope="col">Reason</th></tr></thead>
      <tbody>${alarms.map((a) => html`<tr key=${a.name} class=${a.state === 'ALARM' ? 'alarm' : ''}><td><strong>${a.state}</strong>${a.enabled === false ? ' (disabled)' : ''}</td>
        <td title=${a.description ?? ''}>${a.name}</td><td>${a.since ? html`<${When} value=${a.since} />` : ''}</td><td>${a.reason ?? ''}</td></tr>`)}</tbody>
    </table>`;
}

function Jobs({ title, result }) {
  if (result.error) return html`<h2>${title}</h2><${ErrorBox} error=${result.error} what="ListJobs" />`;
  const jobs = result.value.jobs;
  return html`<h2>${title} <span class="count">${jobs.length}${result.value.nextToken ? '+' : ''}</span></h2>
    ${jobs.length === 0 ? html`<${Empty}>None.<//>` : html`<table class="grid">
      <thead><tr><th scope="col">Kind</th><th scope="col">Target</th><th scope="col">Step</th><th scope="col">Attempt</th><th scope="col">Updated</th><th scope="col">Last error</th></tr></thead>
      <tbody>${jobs.map((j) => html`<tr key=${j.id}><td>${j.kind}</td><td><code>${j.target}</code></td><td>${j.step}</td><td>${j.attempt}/${j.maxAttempts}</td><td><${When} value=${j.updatedAt} /></td><td>${j.lastError ? `${j.lastError.name}: ${j.lastError.message}` : ''}</td></tr>`)}</tbody>
    </table>`}`;
}

const WINDOWS = [7, 30, 90, 365];

export function OverviewPage() {
  const [days, setDays] = useState(30);
  const { data, error, loading, reload } = useLoad(() => loadOverview(days), [days]);
  if (loading && !data) return html`<${Loading} what="the overview" />`;
  if (error) return html`<${ErrorBox} error=${error} />`;
  const up = data.upcoming;
  return html`<section aria-labelledby="page-title" aria-busy=${loading ? 'true' : 'false'}>
    <${PageTitle}>Overview<//>
    <p><button type="button" onClick=${reload}>Refresh</button></p>
    <${Alarms} result=${data.alarms} />
    <h2>Upcoming work (next ${data.days} days)</h2>
    <label class="inline">Show the next
      <select value=${days} onChange=${(e) => setDays(Number(e.currentTarget.value))}>${WINDOWS.map((d) => html`<option value=${d}>${d} days</option>`)}</select>
    </label>
    ${up.error ? html`<${ErrorBox} error=${up.error} what="ListUpcomingJobs" />`
      : up.value.upcoming.length === 0 ? html`<${Empty}>Nothing is scheduled in the next ${data.days} days.<//>`
        : html`<table class="grid">
          <thead><tr><th scope="col">When</th><th scope="col">Work</th><th scope="col">Target</th></tr></thead>
          <tbody>${up.value.upcoming.map((u) => html`<tr key=${`${u.kind}/${u.target}/${u.at}`}><td><${When} value=${u.at} /></td><td>${KIND_LABEL[u.kind] ?? u.kind}</td>
            <td>${u.kind.startsWith('kms.') ? html`<a href=${`#/keys/${encodeURIComponent(u.target)}`}>${u.target}</a>` : html`<code>${u.target}</code>`}</td></tr>`)}</tbody>
        </table>`}
    ${up.value && up.value.budgets.length > 0 ? html`<h2>Usage budgets near their limit</h2><ul class="plain">${up.value.budgets.map((b) => html`<li><a href=${`#/keys/${encodeURIComponent(b.keyId)}`}>${b.keyId}</a>: ${Math.round(b.fraction * 100)}% used</li>`)}</ul>` : null}
    <${Jobs} title="Running jobs" result=${data.running} />
    <${Jobs} title="Queued jobs" result=${data.queued} />
    <${Jobs} title="Failed jobs" result=${data.failed} />
  </section>`;
}
