// Request validation for the RDS operations: typed getters over the decoded form and RDS's rules
// (Amazon RDS API Reference, CreateDBInstance "Constraints"; RDS User Guide "Naming constraints").
// Messages follow RDS's where they are known (noted); none ever repeats a password.
import { InvalidParameterCombination, InvalidParameterValue, MissingParameter } from '../errors.ts';
import type { DbEngine } from '../db/api.ts';
import { listOf, type QueryParams } from './form.ts';
import type { WireTag } from './wire.ts';

export function optString(p: QueryParams, name: string): string | undefined {
  return p.get(name);
}

/** RDS: "The request must contain the parameter <name>" (MissingParameter). */
export function reqString(p: QueryParams, name: string): string {
  const v = p.get(name);
  if (v === undefined || v === '') throw new MissingParameter(`The request must contain the parameter ${name}`);
  return v;
}

export function optBool(p: QueryParams, name: string): boolean | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  const l = v.toLowerCase();
  if (l === 'true') return true;
  if (l === 'false') return false;
  throw new InvalidParameterValue(`Invalid boolean value for parameter ${name}: it must be true or false.`);
}

export function optInt(p: QueryParams, name: string): number | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  if (!/^-?\d{1,10}$/.test(v)) throw new InvalidParameterValue(`Invalid value for parameter ${name}: it must be an integer.`);
  return Number(v);
}

// RDS (CreateDBInstance DBInstanceIdentifier): "Must contain from 1 to 63 letters, numbers, or
// hyphens. First character must be a letter. Can't end with a hyphen or contain two consecutive
// hyphens." The error text is RDS's InvalidParameterValue message for a bad identifier.
const IDENTIFIER = /^[A-Za-z](?:[A-Za-z0-9]|-(?!-))*$/;

export function checkIdentifier(value: string, name = 'DBInstanceIdentifier'): string {
  if (value.length < 1 || value.length > 63 || !IDENTIFIER.test(value) || value.endsWith('-')) {
    throw new InvalidParameterValue(`The parameter ${name} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`);
  }
  // RDS stores identifiers in lower case
  return value.toLowerCase();
}

/** An instance named by identifier or by ARN (DescribeDBInstances accepts both). */
export function instanceRef(p: QueryParams, name = 'DBInstanceIdentifier'): string {
  return checkIdentifier(reqString(p, name), name);
}

export const ENGINES: readonly DbEngine[] = ['postgres', 'mariadb'];

export function checkEngine(value: string): DbEngine {
  const e = value.toLowerCase();
  if (!(ENGINES as readonly string[]).includes(e)) throw new InvalidParameterValue(`Invalid DB engine: ${clip(value)}. rekey supports: ${ENGINES.join(', ')}.`);
  return e as DbEngine;
}

// RDS allocated storage for gp2/gp3 on PostgreSQL and MariaDB: 20 to 65536 GiB. The message is RDS's.
export const STORAGE_GIB = { min: 20, max: 65536 } as const;

export function checkStorage(engine: DbEngine, gib: number | undefined): number {
  const v = gib ?? 0;
  if (v < STORAGE_GIB.min || v > STORAGE_GIB.max) throw new InvalidParameterValue(`Invalid storage size for engine name ${engine} and storage type gp2: ${v}`);
  return v;
}

// RDS instance classes look like db.t3.micro / db.m6g.large; rekey records the class only.
export function checkInstanceClass(value: string): string {
  if (!/^db\.[a-z0-9-]{1,16}\.[a-z0-9-]{1,16}$/.test(value)) throw new InvalidParameterValue(`Invalid DB Instance class: ${clip(value)}`);
  return value;
}

const RESERVED_USERS: Record<DbEngine, readonly string[]> = {
  postgres: ['postgres', 'rdsadmin', 'rds_superuser', 'rdsrepladmin', 'public', 'pg_monitor', 'pg_signal_backend'],
  mariadb: ['root', 'rdsadmin', 'mysql.sys', 'mysql.session', 'mariadb.sys'],
};

// RDS MasterUsername: PostgreSQL 1-63 letters/digits/underscores, MariaDB 1-16; first a letter; not
// a word the engine reserves.
export function checkMasterUsername(engine: DbEngine, value: string | undefined): string {
  if (value === undefined || value === '') throw new InvalidParameterValue('The parameter MasterUsername must be provided and must not be blank.');
  const max = engine === 'postgres' ? 63 : 16;
  if (value.length > max || !/^[A-Za-z][A-Za-z0-9_]*$/.test(value)) {
    throw new InvalidParameterValue(`The parameter MasterUsername is not a valid identifier. It must begin with a letter, contain only ASCII letters, digits and underscores, and be at most ${max} characters for ${engine}.`);
  }
  if (RESERVED_USERS[engine].includes(value.toLowerCase())) throw new InvalidParameterValue(`MasterUsername ${value} cannot be used as it is a reserved word used by the engine`);
  return value;
}

// RDS MasterUserPassword: PostgreSQL 8-128 characters, MariaDB 8-41; "Can include any printable
// ASCII character except /, ', ", @, or a space" - the first message below is RDS's.
export function checkPassword(engine: DbEngine, value: string): string {
  if (!/^[\x21-\x7e]*$/.test(value) || /[/@"]/.test(value)) {
    throw new InvalidParameterValue(`The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '"', ' ' may be used.`);
  }
  const max = engine === 'postgres' ? 128 : 41;
  if (value.length < 8) throw new InvalidParameterValue('The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.');
  if (value.length > max) throw new InvalidParameterValue(`The parameter MasterUserPassword is not a valid password because it is longer than ${max} characters.`);
  return value;
}

// PostgreSQL DBName: 1-63 letters, digits, underscores, beginning with a letter. MariaDB: 1-64.
export function checkDbName(engine: DbEngine, value: string): string {
  const max = engine === 'postgres' ? 63 : 64;
  if (value.length > max || !/^[A-Za-z][A-Za-z0-9_]*$/.test(value)) {
    throw new InvalidParameterValue(`The parameter DBName is not a valid identifier. It must begin with a letter, contain only ASCII letters, digits and underscores, and be at most ${max} characters.`);
  }
  return value;
}

export function checkPort(port: number): number {
  if (port < 1150 || port > 65535) throw new InvalidParameterValue(`Invalid port ${port}: the port must be between 1150 and 65535.`);
  return port;
}

// RDS tags: up to 50 per resource; key 1-128 Unicode characters, not starting with "aws:"; value 0-256.
export const MAX_TAGS = 50;

export function tagsOf(p: QueryParams, name = 'Tags'): WireTag[] | undefined {
  const items = listOf(p, name, 'Tag');
  if (!items) return undefined;
  if (items.length > MAX_TAGS) throw new InvalidParameterValue(`Too many tags: at most ${MAX_TAGS} are allowed.`);
  return items.map((i) => {
    const key = i.members.get('Key');
    const value = i.members.get('Value') ?? '';
    if (key === undefined || key.length < 1 || key.length > 128) throw new InvalidParameterValue('A tag key must be between 1 and 128 characters.');
    if (key.toLowerCase().startsWith('aws:') || key.toLowerCase().startsWith('rds:')) throw new InvalidParameterValue(`The tag key ${clip(key)} uses a reserved prefix (aws: or rds:).`);
    if (value.length > 256) throw new InvalidParameterValue(`The value of tag ${clip(key)} is longer than 256 characters.`);
    return { Key: key, Value: value };
  });
}

export interface WireFilter {
  Name: string;
  Values: string[];
}

export function filtersOf(p: QueryParams): WireFilter[] | undefined {
  const items = listOf(p, 'Filters', 'Filter');
  if (!items) return undefined;
  return items.map((i) => {
    const name = i.members.get('Name');
    if (name === undefined || name === '') throw new MissingParameter('The request must contain the parameter Filters.Filter.N.Name');
    const values: string[] = [];
    for (const [k, v] of [...i.members].sort()) {
      if (k === 'Name') continue;
      if (!/^Values\.(Value|member)\.\d{1,4}$/.test(k)) throw new InvalidParameterValue(`Unexpected filter member ${clip(k)}.`);
      values.push(v);
    }
    if (values.length === 0) throw new InvalidParameterValue(`The filter ${clip(name)} must have at least one value.`);
    return { Name: name, Values: values };
  });
}

export function combination(message: string): never {
  throw new InvalidParameterCombination(message);
}

export function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}
