// The built-in rotation strategies (docs/SECRETS-STRATEGIES.md), by the names RotationLambdaARN
// uses to select them.
import type { RotationStrategy } from '../strategy.ts';
import { mysqlAlternatingUsers } from './mysql-alternating-users.ts';
import { mysqlSingleUser } from './mysql-single-user.ts';
import { postgresqlAlternatingUsers } from './postgresql-alternating-users.ts';
import { postgresqlSingleUser } from './postgresql-single-user.ts';

export const BUILTIN_STRATEGIES: readonly RotationStrategy[] = Object.freeze([
  postgresqlSingleUser,
  postgresqlAlternatingUsers,
  mysqlSingleUser,
  mysqlAlternatingUsers,
]);

export function builtinStrategy(name: string): RotationStrategy | undefined {
  return BUILTIN_STRATEGIES.find((s) => s.name === name);
}
