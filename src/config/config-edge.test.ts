// The edge settings of the configuration (docs/TLS.md, docs/OPERATIONS.md): environment, flags,
// validation with clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './config.ts';

test('config: TLS, quota and connection settings from the environment and flags', () => {
  const c = loadConfig({ dataDir: '/tmp/x', tls: 'generated', insecureHttp: true }, {
    REKEY_TLS_SANS: 'rekey.internal, 10.0.0.7', REKEY_TLS_CLIENT_AUTH: 'optional', REKEY_TLS_CERT_LIFETIME_SECONDS: '3600',
    REKEY_QUOTA_RATES: 'kms:cryptographic=100,kms:CreateKey=2.5', REKEY_QUOTA_PRINCIPAL_SHARE: '1',
    REKEY_HTTP_MAX_CONNECTIONS_PER_SOURCE: '8', REKEY_HTTP_HEADERS_TIMEOUT_MS: '2000',
  });
  assert.equal(c.tls.mode, 'generated');
  assert.equal(c.tls.insecureHttp, true);
  assert.deepEqual(c.tls.sans, ['rekey.internal', '10.0.0.7']);
  assert.equal(c.tls.clientAuth, 'optional');
  assert.equal(c.tls.certLifetimeSeconds, 3600);
  assert.deepEqual(c.quotas.rates, { 'kms:cryptographic': 100, 'kms:CreateKey': 2.5 });
  assert.equal(c.quotas.principalShare, 1);
  assert.equal(c.http.maxConnectionsPerSource, 8);
  assert.equal(c.http.headersTimeoutMs, 2000);
  assert.equal(c.http.keepAliveTimeoutMs, 65_000);
  assert.ok(Object.isFrozen(c.quotas.rates));
  const d = loadConfig({ dataDir: '/tmp/x' }, {});
  assert.equal(d.tls.mode, 'off');
  assert.equal(d.quotas.enabled, true);
  assert.equal(loadConfig({ dataDir: '/tmp/x' }, { REKEY_QUOTAS: 'off' }).quotas.enabled, false);
});

test('config: bad edge settings are refused with the setting named', () => {
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { REKEY_TLS: 'maybe' }), { name: 'ConfigurationError', message: /\/tls\/mode must be equal to one of the allowed values/ });
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { REKEY_QUOTA_RATES: 'kms:Encrypt' }), { name: 'ConfigurationError', message: 'REKEY_QUOTA_RATES: expected rule=rate pairs such as kms:cryptographic=100, got "kms:Encrypt"' });
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { REKEY_QUOTA_PRINCIPAL_SHARE: '0' }), { name: 'ConfigurationError', message: /\/quotas\/principalShare must be > 0/ });
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { REKEY_TLS_SANS: 'bad name' }), { name: 'ConfigurationError', message: /\/tls\/sans\/0 must match pattern/ });
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { REKEY_HTTP_HEADERS_TIMEOUT_MS: 'soon' }), { name: 'ConfigurationError', message: 'REKEY_HTTP_HEADERS_TIMEOUT_MS must be a non-negative integer' });
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { REKEY_TLS: 'files', REKEY_TLS_CERT_FILE: '/a.pem' }), { name: 'ConfigurationError', message: /needs tls.certFile and tls.keyFile/ });
});

test('config: tls.caOverlapSeconds (each phase of a CA rotation) defaults to 30 days; REKEY_TLS_CA_OVERLAP_SECONDS sets it, below 60 is refused', () => {
  assert.equal(loadConfig({ dataDir: '/tmp/x' }, {}).tls.caOverlapSeconds, 30 * 86400);
  assert.equal(loadConfig({ dataDir: '/tmp/x' }, { REKEY_TLS_CA_OVERLAP_SECONDS: '86400' }).tls.caOverlapSeconds, 86400);
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { REKEY_TLS_CA_OVERLAP_SECONDS: '5' }), { name: 'ConfigurationError', message: /\/tls\/caOverlapSeconds must be >= 60/ });
});
