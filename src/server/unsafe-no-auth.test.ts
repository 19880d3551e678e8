import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authSwitch, requireUnsafeNoAuthConsent, requireUnsafeNoAuditConsent } from './unsafe-no-auth.ts';

test('the benchmark-only switches refuse to work without their explicit consent variable', () => {
  assert.equal(authSwitch({}), 'on');
  assert.equal(authSwitch({ REKEY_AUTH: 'off' }), 'off');
  assert.throws(() => authSwitch({ REKEY_AUTH: 'no' }), { name: 'ConfigurationError' });
  assert.throws(() => requireUnsafeNoAuthConsent({ REKEY_AUTH: 'off' }), { name: 'ConfigurationError', message: /REKEY_BENCH_UNSAFE_NO_AUTH=1/ });
  assert.doesNotThrow(() => requireUnsafeNoAuthConsent({ REKEY_BENCH_UNSAFE_NO_AUTH: '1' }));
  assert.throws(() => requireUnsafeNoAuditConsent({ REKEY_AUDIT: 'off' }), { name: 'ConfigurationError', message: /REKEY_BENCH_UNSAFE_NO_AUDIT=1/ });
  assert.doesNotThrow(() => requireUnsafeNoAuditConsent({ REKEY_BENCH_UNSAFE_NO_AUDIT: '1' }));
});
