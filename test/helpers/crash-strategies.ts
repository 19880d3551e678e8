// TEST ONLY. The built-in rotation strategies wrapped with kill points, for crash tests
// (test/secrets-db-crash.test.ts): the child server (test/helpers/server-child.ts) passes these as
// StartOptions.secretStrategies when REKEY_TEST_KILL_AT names a point. At that point the strategy
// writes the point's name to the marker file REKEY_TEST_KILL_MARKER (synchronously: createPending is
// synchronous, and an IPC message sent just before the event loop blocks may never leave the
// process) and then blocks the whole process with Atomics.wait, so nothing else (no heartbeat, no
// job commit) happens until the parent SIGKILLs it. Production code has no such hook.
//
// Kill points (each inside one of AWS's four steps):
//   createSecret         inside createPending: the new password exists, the version is not stored
//   setSecret:before     the switching mark (single user) is committed, the database not changed
//   setSecret:after      the database accepts the pending password, the step not recorded
//   testSecret:before    before the pending login is tested
//   testSecret:after     the pending login was tested, the step not recorded
//   finishSecret         AWSCURRENT moved to the pending version, the step not recorded
import { writeFileSync } from 'node:fs';
import { BUILTIN_STRATEGIES } from '../../src/secrets/strategies/index.ts';
import type { RotationStrategy } from '../../src/secrets/strategy.ts';

export const KILL_POINTS = ['createSecret', 'setSecret:before', 'setSecret:after', 'testSecret:before', 'testSecret:after', 'finishSecret'] as const;
export type KillPoint = (typeof KILL_POINTS)[number];

function block(marker: string, point: string): never {
  writeFileSync(marker, point);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0); // until SIGKILL
}

/** The built-in strategies with `strategy`'s `point` armed (the restarted server runs without it). */
export function strategiesWithKillPoint(strategy: string, point: KillPoint, marker: string): RotationStrategy[] {
  const at = (p: KillPoint) => { if (p === point) block(marker, `${strategy}:${p}`); };
  return BUILTIN_STRATEGIES.map((s) => s.name !== strategy ? s : {
    name: s.name, needsMaster: s.needsMaster, invalidatesCurrent: s.invalidatesCurrent,
    createPending(current, previous, password) {
      const pending = s.createPending(current, previous, password);
      at('createSecret');
      return pending;
    },
    async setSecret(ctx) {
      at('setSecret:before');
      await s.setSecret(ctx);
      at('setSecret:after');
    },
    async testSecret(ctx) {
      at('testSecret:before');
      await s.testSecret(ctx);
      at('testSecret:after');
    },
    async finishSecret(ctx) {
      await s.finishSecret?.(ctx);
      at('finishSecret');
    },
  });
}
