// Random passwords: GetRandomPassword and the passwords of rotations (one generator for both).
// AWS Secrets Manager: PasswordLength 1-4096, default 32; every type is included by default and
// RequireEachIncludedType defaults to true; IncludeSpace defaults to false.
import { randomInt } from '../crypto/index.ts';
import { InvalidParameterException } from '../errors.ts';

export interface PasswordOptions {
  PasswordLength?: number;
  ExcludeCharacters?: string;
  ExcludeNumbers?: boolean;
  ExcludePunctuation?: boolean;
  ExcludeUppercase?: boolean;
  ExcludeLowercase?: boolean;
  IncludeSpace?: boolean;
  RequireEachIncludedType?: boolean;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** What rotations use: AWS's rotation templates exclude characters that break connection strings and shells. */
export const ROTATION_PASSWORD: Readonly<PasswordOptions> = Object.freeze({ PasswordLength: 32, ExcludeCharacters: '/@"\'\\ :;&|`$<>()?#%{}[]^*!~,' });

export function randomPassword(o: PasswordOptions = {}): string {
  const len = o.PasswordLength ?? 32;
  const excluded = new Set(o.ExcludeCharacters ?? '');
  const keep = (s: string) => [...s].filter((c) => !excluded.has(c)).join('');
  const sets: string[] = [];
  if (!o.ExcludeLowercase) sets.push(keep(LOWER));
  if (!o.ExcludeUppercase) sets.push(keep(UPPER));
  if (!o.ExcludeNumbers) sets.push(keep(DIGITS));
  if (!o.ExcludePunctuation) sets.push(keep(PUNCT));
  if (o.IncludeSpace) sets.push(keep(' '));
  const nonEmpty = sets.filter((s) => s.length > 0);
  const all = nonEmpty.join('');
  if (all.length === 0) throw new InvalidParameterException('The password can\'t be generated: every character type is excluded.');
  const requireEach = o.RequireEachIncludedType ?? true;
  if (requireEach && nonEmpty.length > len) throw new InvalidParameterException(`The PasswordLength must be at least ${nonEmpty.length} to include each character type.`);
  const out: string[] = [];
  if (requireEach) for (const s of nonEmpty) out.push(s[randomInt(s.length)]!);
  while (out.length < len) out.push(all[randomInt(all.length)]!);
  // Fisher-Yates, so the required characters are not always first
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.join('');
}
