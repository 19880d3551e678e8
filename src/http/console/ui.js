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
