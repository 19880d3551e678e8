import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, findEngines, pickVersion } from './engines.ts';
import type { DbEngineVersion } from './api.ts';

const v = (engineVersion: string): DbEngineVersion => ({ engine: 'postgres', engineVersion, dbParameterGroupFamily: `postgres${engineVersion.split('.')[0]}`, description: '', binDir: `/x/${engineVersion}` });

test('pickVersion: exact, major prefix, newest; unknown -> undefined', () => {
  const all = [v('16.4'), v('15.10'), v('15.2')];
  assert.equal(pickVersion(all, 'postgres')?.engineVersion, '16.4');
  assert.equal(pickVersion(all, 'postgres', '15.2')?.engineVersion, '15.2');
  assert.equal(pickVersion(all, 'postgres', '15')?.engineVersion, '15.10');
  assert.equal(pickVersion(all, 'postgres', '99'), undefined);
  assert.equal(pickVersion(all, 'mariadb'), undefined);
  assert.ok(compareVersions('15.10', '15.2') > 0);
});

test('findEngines: the installed PostgreSQL binaries, newest first, each version once', () => {
  const found = findEngines();
  assert.ok(found.length > 0, 'PostgreSQL is installed on development and CI machines');
  const versions = found.map((e) => e.engineVersion);
  assert.deepEqual(versions, [...new Set(versions)].sort((a, b) => compareVersions(b, a)));
  assert.deepEqual(findEngines({ postgresRoots: ['/nonexistent'], postgresBinDirs: [] }), []);
});
