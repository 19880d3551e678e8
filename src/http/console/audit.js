// Audit search: CloudTrail LookupEvents-style filters over GET /v1/audit/events, results as a table,
// a histogram of the results over time, and the chain verification on demand (GET /v1/audit/verify).
import { useEffect, useState } from 'preact/hooks';
import { admin } from './api.js';
import { html, ErrorBox, When, Empty, PageTitle, toDate, BarChart } from './ui.js';

const FIELDS = [
  ['eventName', 'Event name', 'text', 'RotateKeyOnDemand'],
  ['principal', 'Principal (ARN or access key id)', 'text', 'arn:aws:iam::…:user/…'],
  ['resource', 'Resource ARN', 'text', 'arn:aws:kms:…:key/…'],
  ['startTime', 'From (UTC)', 'datetime-local', ''],
  ['endTime', 'To (UTC)', 'datetime-local', ''],
];

const utc = (v) => (v ? new Date(`${v}Z`).toISOString() : undefined);

/** Results per time bucket (24 bars over the span of the results shown). */
function Histogram({ events }) {
  const times = events.map((e) => toDate(e.eventTime)?.getTime()).filter((t) => t !== undefined);
  if (times.length < 2) return null;
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  const n = 24;
  const width = Math.max(1, (hi - lo) / n);
  const counts = new Array(n).fill(0);
  for (const t of times) counts[Math.min(n - 1, Math.floor((t - lo) / width))]++;
  const label = (ms) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return html`<${BarChart} bins=${counts.map((count, i) => ({ label: label(lo + i * width), count }))}
    caption=${`Events over time, ${times.length} results from ${label(lo)} to ${label(hi)}`} />`;
}

function principalOf(e) {
  const u = e.userIdentity ?? {};
  return u.arn ?? u.invokedBy ?? u.principalId ?? u.type ?? '';
}

export function AuditPage({ query }) {
  const [form, setForm] = useState(() => Object.fromEntries(FIELDS.map(([k]) => [k, query.get(k) ?? ''])));
  const [result, setResult] = useState({ events: [], nextToken: undefined, error: undefined, busy: false, searched: false });
  const [verify, setVerify] = useState({ busy: false });

  const search = async (more) => {
    setResult((r) => ({ ...r, busy: true, error: undefined }));
    try {
      const page = await admin('GET', '/v1/audit/events', {
        eventName: form.eventName.trim(), principal: form.principal.trim(), resource: form.resource.trim(),
        startTime: utc(form.startTime), endTime: utc(form.endTime), maxResults: 50, ...(more ? { nextToken: result.nextToken } : {}),
      });
      // each result is a chain record { node, seq, hash, event }: the table shows the CloudTrail-shaped event
      const found = page.events.map((rec) => ({ ...rec.event, chainId: `${rec.node}/${rec.seq}` }));
      setResult((r) => ({ events: more ? [...r.events, ...found] : found, nextToken: page.nextToken, error: undefined, busy: false, searched: true }));
    } catch (error) {
      setResult((r) => ({ ...r, error, busy: false, searched: true }));
    }
  };
  const onSubmit = (ev) => { ev.preventDefault(); void search(false); };
  // a link with filters (#/audit?resource=...) runs its search at once
  useEffect(() => { if (FIELDS.some(([k]) => query.get(k))) void search(false); }, []);
  const runVerify = async () => {
    setVerify({ busy: true });
    try { setVerify({ busy: false, value: await admin('GET', '/v1/audit/verify') }); } catch (error) { setVerify({ busy: false, error }); }
  };

  return html`<section aria-labelledby="page-title">
    <${PageTitle}>Audit<//>
    <form class="search" onSubmit=${onSubmit} aria-label="Search the audit trail">
      ${FIELDS.map(([k, label, type, placeholder]) => html`<label key=${k}>${label}
        <input name=${k} type=${type} value=${form[k]} placeholder=${placeholder} step=${type === 'datetime-local' ? 1 : undefined}
          onInput=${(e) => setForm({ ...form, [k]: e.currentTarget.value })} />
      </label>`)}
      <button type="submit" disabled=${result.busy}>${result.busy ? 'Searching…' : 'Search'}</button>
    </form>
    <${ErrorBox} error=${result.error} what="LookupAuditEvents" />
    ${result.searched && !result.error && result.events.length === 0 ? html`<${Empty}>No events match.<//>` : null}
    ${result.events.length > 0 ? html`
      <${Histogram} events=${result.events} />
      <table class="grid events">
        <caption>${result.events.length} event${result.events.length === 1 ? '' : 's'}, newest first</caption>
        <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Principal</th><th scope="col">Resources</th><th scope="col">Source IP</th><th scope="col">Outcome</th></tr></thead>
        <tbody>${result.events.map((e) => html`<tr key=${e.chainId}>
          <td><${When} value=${e.eventTime} /></td>
          <td><span class="sub">${e.eventSource}</span> ${e.eventName}</td>
          <td><code>${principalOf(e)}</code></td>
          <td>${(e.resources ?? []).map((r) => html`<code class="block">${r.ARN}</code>`)}</td>
          <td>${e.sourceIPAddress}</td>
          <td>${e.errorCode ? html`<span class="denied" title=${e.errorMessage ?? ''}>${e.errorCode}</span>` : 'ok'}</td>
        </tr>`)}</tbody>
      </table>
      ${result.nextToken ? html`<button type="button" onClick=${() => search(true)} disabled=${result.busy}>Older events</button>` : null}` : null}
    <h2>Chain verification</h2>
    <p><button type="button" onClick=${runVerify} disabled=${verify.busy}>${verify.busy ? 'Verifying…' : 'Verify the audit chain'}</button></p>
    <${ErrorBox} error=${verify.error} what="VerifyAuditTrail" />
    ${verify.value ? html`<p role="status" class=${verify.value.ok ? 'ok' : 'error'}>${verify.value.ok ? 'The chain verifies: no event is broken, missing or out of order.' : `Broken at seq ${verify.value.firstProblem?.seq}: ${verify.value.firstProblem?.message ?? ''} (${verify.value.problems.length} problem${verify.value.problems.length === 1 ? '' : 's'})`}</p>` : null}
  </section>`;
}
