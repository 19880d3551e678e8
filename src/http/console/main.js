// The console's shell: sign-in, navigation and the hash router (#/overview, #/keys, #/keys/<id>, #/audit?...).
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { currentSession, onSessionEnd, signIn, signOut, REGION } from './api.js';
import { html, ErrorBox } from './ui.js';
import { KeysPage } from './keys.js';
import { KeyPage } from './key.js';
import { AuditPage } from './audit.js';
import { OverviewPage } from './overview.js';
import { SecretsPage, SecretPage } from './secrets.js';
import { DatabasesPage } from './databases.js';

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/overview';
  const [path, qs] = raw.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(qs ?? '') };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function SignIn({ onSignedIn, notice }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState();
  const first = useRef(null);
  useEffect(() => { first.current?.focus(); }, []);
  const submit = async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const get = (k) => String(f.get(k) ?? '').trim();
    setBusy(true);
    setError(undefined);
    try {
      const s = await signIn({ accessKeyId: get('accessKeyId'), secretAccessKey: get('secretAccessKey'), sessionToken: get('sessionToken'), mfaSerial: get('mfaSerial'), mfaCode: get('mfaCode') });
      ev.currentTarget?.reset?.();
      onSignedIn(s);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <h1>Sign in to rekey</h1>
    <p>Use a rekey access key (as for the CLI). The console exchanges it for a one-hour session
      (STS GetSessionToken) and keeps only that session, in this tab. Every page is a signed, audited API call:
      you see what your policies allow, nothing more.</p>
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
    <form onSubmit=${submit} aria-label="Sign in">
      <label>Access key id <input name="accessKeyId" required autocomplete="username" spellcheck="false" ref=${first} /></label>
      <label>Secret access key <input name="secretAccessKey" type="password" required autocomplete="current-password" /></label>
      <details>
        <summary>MFA or session credentials</summary>
        <label>MFA device ARN <input name="mfaSerial" spellcheck="false" /></label>
        <label>MFA code <input name="mfaCode" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" /></label>
        <label>Session token (already have STS credentials) <input name="sessionToken" spellcheck="false" /></label>
      </details>
      <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
    <${ErrorBox} error=${error} what="Sign-in refused" />
    <p class="sub">Region ${REGION}</p>
  </main>`;
}

const NAV = [['overview', 'Overview'], ['keys', 'Keys'], ['secrets', 'Secrets'], ['databases', 'Databases'], ['audit', 'Audit']];

function Shell({ session }) {
  const { parts, query } = useRoute();
  const [section = 'overview', id] = parts;
  let page;
  if (section === 'keys' && id) page = html`<${KeyPage} id=${id} key=${id} />`;
  else if (section === 'keys') page = html`<${KeysPage} />`;
  else if (section === 'secrets' && id) page = html`<${SecretPage} id=${id} key=${id} />`;
  else if (section === 'secrets') page = html`<${SecretsPage} />`;
  else if (section === 'databases') page = html`<${DatabasesPage} />`;
  else if (section === 'audit') page = html`<${AuditPage} query=${query} key=${query.toString()} />`;
  else if (section === 'overview') page = html`<${OverviewPage} />`;
  else page = html`<${ErrorBox} error=${{ code: 'NotFound', message: `No page ${location.hash}` }} />`;
  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <header>
      <span class="brand">rekey</span>
      <nav aria-label="Console">${NAV.map(([k, label]) => html`<a href=${`#/${k}`} aria-current=${section === k ? 'page' : undefined}>${label}</a>`)}</nav>
      <span class="who" title=${session.arn}>${session.arn}</span>
      <button type="button" onClick=${() => signOut()}>Sign out</button>
    </header>
    <main id="main" tabindex="-1">${page}</main>
  </div>`;
}

function App() {
  const [session, setSession] = useState(currentSession);
  const [notice, setNotice] = useState();
  useEffect(() => onSessionEnd((reason) => { setSession(null); setNotice(reason ?? undefined); }), []);
  return session ? html`<${Shell} session=${session} />` : html`<${SignIn} notice=${notice} onSignedIn=${(s) => { setNotice(undefined); setSession(s); }} />`;
}

const root = document.getElementById('app');
root.textContent = ''; // the "Loading…" placeholder of index.html
render(html`<${App} />`, root);
