// The report as one self-contained HTML page (no scripts run, no external assets): every value from
// the report is HTML-escaped; the signed JSON rides along in a non-executed <script type=
// "application/json"> block (with '<' written as \u003c, so no value can close the block), which is
// what `rekey compliance verify` checks when given the page.
import type { ComplianceReport } from './report.ts';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c]!);
}

/** JSON that cannot end a <script> element or open a comment: every '<' (only ever inside strings) as \u003c. */
export function scriptSafeJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1a1a1a}table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f2f2f2}.high{color:#a40000;font-weight:600}
.medium{color:#8a5a00}.ok{color:#1d6b1d;font-weight:600}code,pre{font:12px ui-monospace,monospace}pre{white-space:pre-wrap;margin:0}`;

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '<p>None.</p>';
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

export function renderHtml(r: ComplianceReport): string {
  const e = escapeHtml;
  const sig = r.signature ? `Signed (Ed25519) with the audit signing key <code>${e(r.signature.publicKeyFingerprint)}</code>. Check it with <code>rekey compliance verify &lt;this file&gt; --public-key audit.pem</code>.` : 'Not signed.';
  const findings = table(['Severity', 'Rule', 'Resource', 'Finding', 'Clauses', 'Evidence'], r.findings.map((f) => [
    `<span class="${e(f.severity)}">${e(f.severity)}</span>`, `<code>${e(f.ruleId)}</code>`, `<code>${e(f.resource)}</code>`, e(f.message),
    f.clauses.map((c) => e(c)).join('<br>'), `<pre>${e(JSON.stringify(f.evidence, null, 1))}</pre>`,
  ]));
  const rules = table(['Rule', 'Title', 'Clauses', 'Findings'], r.rules.map((x) => [`<code>${e(x.id)}</code>`, e(x.title), x.clauses.map((c) => e(c)).join('<br>'), e(r.summary.byRule[x.id] ?? 0)]));
  const keys = r.keys.map((k) => `<h3><code>${e(k.arn)}</code></h3><p>State ${e(k.state)}, ${e(k.keyManager)}; automatic rotation ${k.rotation.enabled ? `every ${e(k.rotation.periodDays)} days, next ${e(k.rotation.nextRotationDate)}` : 'off'}.</p>`
    + table(['Material', 'Created', 'Type'], k.rotations.map((m) => [`<code>${e(m.materialId.slice(0, 16))}…</code>`, e(m.createdAt), e(m.rotationType)]))
    + table(['Rotation event', 'Time', 'Principal', 'Event id'], k.rotationEvents.map((v) => [e(v.eventName), e(v.eventTime), `<code>${e(v.principal)}</code>`, `<code>${e(v.eventID)}</code>`]))
    + table(['Used by', 'Operations', 'Source addresses', 'Last used'], k.usage.map((u) => [`<code>${e(u.principal)}</code>`, e(Object.entries(u.operations).map(([n, c]) => `${n} ×${c}`).join(', ')), e(u.sourceIPAddresses.join(', ')), e(u.lastUsed)]))).join('\n');
  const status = r.summary.compliant ? '<span class="ok">No findings</span>' : `<span class="high">${e(r.summary.findings)} finding(s)</span>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>rekey compliance report: ${e(r.standard)} ${e(r.generatedAt)}</title><style>${STYLE}</style></head><body>
<h1>rekey compliance report: ${e(r.standard)}</h1>
<p>Account ${e(r.accountId)}, region ${e(r.region)}. Generated ${e(r.generatedAt)}; audit events from ${e(r.window.from)} to ${e(r.window.to)}${r.summary.eventsTruncated ? ' (truncated)' : ''}.</p>
<p>${status}. Resources evaluated: ${e(r.summary.resources.keys)} keys, ${e(r.summary.resources.secrets)} secrets, ${e(r.summary.resources.instances)} database instances, ${e(r.summary.resources.certificates)} certificates. Cryptoperiod ${e(r.settings.cryptoperiodDays)} days.</p>
<p>${sig}</p>
<h2>Findings</h2>
${findings}
<h2>Rules</h2>
${rules}
<h2>Keys: rotation history and use</h2>
${keys || '<p>None.</p>'}
<script type="application/json" id="rekey-compliance-report">${scriptSafeJson(r)}</script>
</body></html>
`;
}
