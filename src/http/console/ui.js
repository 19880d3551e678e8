// Shared view helpers: htm bound to preact, data loading, dates, the error box, tables.
import { h } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

/** Runs `load` on mount and whenever deps change; { data, error, loading, reload }. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => { if (mine === seq.current) setState({ data, error: undefined, loading: false }); },
      (error) => { if (mine === seq.current) setState({ data: undefined, error, loading: false }); },
    );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

/** A refused or failed call, as rekey answered it (AccessDeniedException: the message says which permission). */
export function ErrorBox({ error, what }) {
  if (!error) return null;
  const code = error.code ?? error.name ?? 'Error';
  return html`<div class="error" role="alert">
    <strong>${what ? `${what}: ` : ''}${code}</strong>
    <p>${error.message}</p>
  </div>`;
}

export function Loading({ what }) {
  return html`<p class="loading" role="status">Loading ${what}…</p>`;
}

/** KMS dates are epoch seconds; the admin API sends ISO strings. */
export function toDate(v) {
  if (v === undefined || v === null || v === '') return null;
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function When({ value }) {
  const d = toDate(value);
  if (!d) return html`<span class="none">—</span>`;
  const iso = d.toISOString();
  return html`<time datetime=${iso} title=${iso}>${iso.replace('T', ' ').slice(0, 19)} UTC</time>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

/** Focuses the page heading on navigation, so keyboard and screen-reader users land on the new page. */
export function PageTitle({ children }) {
  const ref = useRef(null);
  useEffect(() => { ref.current?.focus(); }, []);
  return html`<h1 tabindex="-1" ref=${ref}>${children}</h1>`;
}

/** Runs async work with a small concurrency limit (the console never floods the server). */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }));

const fmt = new Intl.NumberFormat('en');
export function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** A key's usage of its current material against its budget (GET /v1/kms/keys/{id}/usage-budget). */
export function BudgetUse({ view }) {
  const { budget, usage } = view;
  // rekey keeps a shared count of a material's use only for keys with a budget (src/kms/lifecycle/usage.ts)
  if (!budget) return html`<span class="none">no budget</span>`;
  const used = `${fmt.format(usage.encryptions)} encryption${usage.encryptions === 1 ? '' : 's'}, ${bytes(usage.bytes)}`;
  const parts = [];
  if (budget.maxEncryptions) parts.push(usage.encryptions / budget.maxEncryptions);
  if (budget.maxBytes) parts.push(usage.bytes / budget.maxBytes);
  const fraction = Math.min(1, Math.max(0, ...parts));
  const limit = [budget.maxEncryptions ? `${fmt.format(budget.maxEncryptions)} encryptions` : null, budget.maxBytes ? bytes(budget.maxBytes) : null].filter(Boolean).join(' or ');
  return html`<span class="budget">
    <meter min="0" max="1" low="0.6" high="0.8" optimum="0" value=${fraction} aria-label=${`${Math.round(fraction * 100)}% of the usage budget`}></meter>
    ${Math.round(fraction * 100)}% <span class="sub">${used} of ${limit}</span>
  </span>`;
}

/** A bar chart of counts (the picture) with the same numbers as text for screen readers. */
export function BarChart({ bins, caption }) {
  const max = Math.max(1, ...bins.map((b) => b.count));
  const total = bins.reduce((s, b) => s + b.count, 0);
  return html`<figure class="histogram">
    <figcaption>${caption}</figcaption>
    <div class="bars" role="img" aria-label=${`${caption}: ${total} in all; ${bins.filter((b) => b.count > 0).map((b) => `${b.label}: ${b.count}`).join(', ') || 'none'}`}>
      ${bins.map((b) => html`<span class="bar" style=${{ height: `${((100 * b.count) / max).toFixed(1)}%` }} title=${`${b.label}: ${b.count}`}></span>`)}
    </div>
    <div class="axis-labels" aria-hidden="true"><span>${bins[0]?.label}</span><span>${bins.at(-1)?.label}</span></div>
  </figure>`;
}
