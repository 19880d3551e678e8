import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retarget } from './mysql-alternating-users.ts';

test('SHOW GRANTS lines are re-targeted at the clone without the password hash', () => {
  const r = (s: string) => retarget(s, 'app', 'app_clone', '%');
  assert.equal(r("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'"), 'GRANT USAGE ON *.* TO `app_clone`@`%`');
  assert.equal(r('GRANT SELECT, INSERT ON `db`.* TO `app`@`%` WITH GRANT OPTION'), 'GRANT SELECT, INSERT ON `db`.* TO `app_clone`@`%` WITH GRANT OPTION');
  assert.equal(r('GRANT SELECT (`Host`) ON `mysql`.`user` TO `app`@`%`'), 'GRANT SELECT (`Host`) ON `mysql`.`user` TO `app_clone`@`%`');
  assert.equal(r('GRANT `reader` TO `app`@`%` WITH ADMIN OPTION'), 'GRANT `reader` TO `app_clone`@`%` WITH ADMIN OPTION');
  assert.equal(r("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE SSL WITH MAX_USER_CONNECTIONS 5"), 'GRANT USAGE ON *.* TO `app_clone`@`%` REQUIRE SSL WITH MAX_USER_CONNECTIONS 5');
  assert.equal(r("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED VIA mysql_native_password USING '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' OR unix_socket WITH MAX_QUERIES_PER_HOUR 9"), 'GRANT USAGE ON *.* TO `app_clone`@`%` WITH MAX_QUERIES_PER_HOUR 9');
  assert.equal(r('SET DEFAULT ROLE `reader` FOR `app`@`%`'), 'SET DEFAULT ROLE `reader` FOR `app_clone`@`%`');
  // A table named like the grantee does not confuse it: the last " TO `app`@`%`" is the grantee.
  assert.equal(r('GRANT SELECT ON `x`.`TO` TO `app`@`%`'), 'GRANT SELECT ON `x`.`TO` TO `app_clone`@`%`');
  assert.equal(r('GRANT PROXY ON `a`@`%` TO `other`@`%`'), undefined);
  assert.equal(r('REVOKE ALL'), undefined);
});
