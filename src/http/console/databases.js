// Databases (RDS Query API, XML): instances with status, KMS key, endpoint, replicas; snapshots; and a
// live view of running `change-key` jobs (db.change-key), refreshed every 2 s while one runs.
import { useEffect } from 'preact/hooks';
import { rds, admin } from './api.js';
import { html, useLoad, ErrorBox, Loading, When, Empty, PageTitle, settle } from './ui.js';

/** The text of a direct child element. */
const child = (el, name) => [...el.children].find((c) => c.localName === name)?.textContent ?? undefined;
const members = (el, list, item) => {
  const l = [...el.children].find((c) => c.localName === list);
  return l ? [...l.children].filter((c) => c.localName === item) : [];
};

async function describeAll(action, list, item, marker = 'Marker') {
  const out = [];
  let next;
  do {
    const res = await rds(action, { MaxRecords: 100, ...(next ? { [marker]: next } : {}) });
    out.push(...members(res, list, item));
    next = child(res, 'Marker');
  } while (next && out.length < 1000);
  return out;
}

function instanceView(el) {
  const ep = [...el.children].find((c) => c.localName === 'Endpoint');
  return {
    id: child(el, 'DBInstanceIdentifier'), status: child(el, 'DBInstanceStatus'), engine: `${child(el, 'Engine') ?? ''} ${child(el, 'EngineVersion') ?? ''}`.trim(),
    encrypted: child(el, 'StorageEncrypted') === 'true', kmsKeyId: child(el, 'KmsKeyId'),
    endpoint: ep ? `${child(ep, 'Address')}:${child(ep, 'Port')}` : undefined, created: child(el, 'InstanceCreateTime'),
    source: child(el, 'ReadReplicaSourceDBInstanceIdentifier'),
    replicas: members(el, 'ReadReplicaDBInstanceIdentifiers', 'ReadReplicaDBInstanceIdentifier').map((r) => r.textContent),
  };
}

function snapshotView(el) {
  return {
    id: child(el, 'DBSnapshotIdentifier'), instance: child(el, 'DBInstanceIdentifier'), status: child(el, 'Status'), kmsKeyId: child(el, 'KmsKeyId'),
    created: child(el, 'SnapshotCreateTime'), progress: child(el, 'PercentProgress'), type: child(el, 'SnapshotType'),
  };
}

async function loadDatabases() {
  const [instances, snapshots, changes] = await Promise.all([
    settle(describeAll('DescribeDBInstances', 'DBInstances', 'DBInstance')),
    settle(describeAll('DescribeDBSnapshots', 'DBSnapshots', 'DBSnapshot')),
    settle(admin('GET', '/v1/jobs', { kind: 'db.change-key', state: 'running', limit: 100 })),
  ]);
  return {
    instances: instances.error ? { error: instances.error } : { value: instances.value.map(instanceView) },
    snapshots: snapshots.error ? { error: snapshots.error } : { value: snapshots.value.map(snapshotView) },
    changes,
  };
}

const keyLink = (k) => (k ? html`<a href=${`#/keys/${encodeURIComponent(k)}`}><code>${k.replace(/^arn:.*:key\//, '')}</code></a>` : html`<span class="none">—</span>`);

export function DatabasesPage() {
  const { data, error, loading, reload } = useLoad(loadDatabases, []);
  const running = data?.changes.value?.jobs ?? [];
  // live progress: poll while a change-key job runs
  useEffect(() => {
    if (running.length === 0) return undefined;
    const t = setTimeout(reload, 2000);
    return () => clearTimeout(t);
  }, [data]);
  if (loading && !data) return html`<${Loading} what="databases" />`;
  if (error) return html`<${ErrorBox} error=${error} />`;
  const { instances, snapshots, changes } = data;
  return html`<section aria-labelledby="page-title">
    <${PageTitle}>Databases<//>
    <p><button type="button" onClick=${reload}>Refresh</button></p>
    <h2>Key changes in progress</h2>
    ${changes.error ? html`<${ErrorBox} error=${changes.error} what="ListJobs" />` : running.length === 0 ? html`<${Empty}>None.<//>` : html`<ul class="plain" aria-live="polite">
      ${running.map((j) => html`<li key=${j.id}><strong>${j.target}</strong>: step ${j.step}${j.progress ? html` — ${j.progress.message}
        ${j.progress.total > 1 ? html` <progress max=${j.progress.total} value=${j.progress.done} aria-label=${`${j.target} change-key progress`}></progress>` : null}` : null}
        <span class="sub"> (attempt ${j.attempt}, since <${When} value=${j.createdAt} />)</span></li>`)}
    </ul>`}
    <h2>Instances</h2>
    ${instances.error ? html`<${ErrorBox} error=${instances.error} what="DescribeDBInstances" />` : instances.value.length === 0 ? html`<${Empty}>No instances.<//>` : html`<table class="grid">
      <thead><tr><th scope="col">Instance</th><th scope="col">Status</th><th scope="col">Engine</th><th scope="col">KMS key</th><th scope="col">Endpoint</th><th scope="col">Replication</th><th scope="col">Created</th></tr></thead>
      <tbody>${instances.value.map((i) => html`<tr key=${i.id}><th scope="row">${i.id}</th><td>${i.status}</td><td>${i.engine}</td>
        <td>${i.encrypted ? keyLink(i.kmsKeyId) : html`<span class="denied">not encrypted</span>`}</td><td><code>${i.endpoint ?? ''}</code></td>
        <td>${i.source ? `replica of ${i.source}` : i.replicas.length ? `replicas: ${i.replicas.join(', ')}` : ''}</td><td><${When} value=${i.created} /></td></tr>`)}</tbody>
    </table>`}
    <h2>Snapshots</h2>
    ${snapshots.error ? html`<${ErrorBox} error=${snapshots.error} what="DescribeDBSnapshots" />` : snapshots.value.length === 0 ? html`<${Empty}>No snapshots.<//>` : html`<table class="grid">
      <thead><tr><th scope="col">Snapshot</th><th scope="col">Instance</th><th scope="col">Status</th><th scope="col">KMS key</th><th scope="col">Created</th></tr></thead>
      <tbody>${snapshots.value.map((s) => html`<tr key=${s.id}><th scope="row">${s.id}</th><td>${s.instance}</td><td>${s.status}${s.progress && s.status !== 'available' ? ` (${s.progress}%)` : ''}</td><td>${keyLink(s.kmsKeyId)}</td><td><${When} value=${s.created} /></td></tr>`)}</tbody>
    </table>`}
  </section>`;
}
