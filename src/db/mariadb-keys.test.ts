import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyringOf, rotationStalled, type TablespaceRow } from './mariadb-keys.ts';

const row = (min: number, current: number, rotating = 0, keyId = 1): TablespaceRow => ({ MIN_KEY_VERSION: min, CURRENT_KEY_VERSION: current, CURRENT_KEY_ID: keyId, ROTATING_OR_FLUSHING: rotating });
const latest = new Map([[1, 3], [2, 3]]);

test('rotationStalled: InnoDB knows the newest version, a tablespace is below it, none rotates', () => {
  // the state measured in the stall: every tablespace at 1, InnoDB reporting 3, nothing rotating
  assert.equal(rotationStalled([row(1, 3), row(1, 3)], latest), true);
  assert.equal(rotationStalled([row(3, 3), row(1, 3)], latest), true);
  // done
  assert.equal(rotationStalled([row(3, 3), row(3, 3)], latest), false);
  // rotating: leave the threads alone
  assert.equal(rotationStalled([row(1, 3, 1), row(1, 3)], latest), false);
  // the plugin has not seen version 3 yet (its cache): waiting, not stalled
  assert.equal(rotationStalled([row(1, 1), row(1, 3)], latest), false);
  // a key the keyring does not know: nothing to compare with
  assert.equal(rotationStalled([row(1, 1, 0, 9)], latest), false);
  assert.equal(rotationStalled([], latest), false);
});

test('keyringOf: rds-<dbiresourceid>, lower case (a valid keyring name)', () => {
  assert.equal(keyringOf({ resourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXYZ' }), 'rds-db-abcdefghijklmnopqrstuvwxyz');
  assert.match(keyringOf({ resourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWX27' }), /^[a-z][a-z0-9-]{0,62}$/);
});
