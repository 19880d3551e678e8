// GetRandomPassword: a random password (never recorded in the audit trail).
import { S } from '../../validation/request.ts';
import { operation } from '../context.ts';
import { randomPassword, type PasswordOptions } from '../password.ts';

const B = S.boolean();

export const getRandomPassword = operation<PasswordOptions>({
  name: 'GetRandomPassword',
  input: S.struct({
    PasswordLength: S.integer({ min: 1, max: 4096 }), ExcludeCharacters: S.string({ min: 0, max: 4096 }),
    ExcludeNumbers: B, ExcludePunctuation: B, ExcludeUppercase: B, ExcludeLowercase: B, IncludeSpace: B, RequireEachIncludedType: B,
  }),
  async run(ctx, req, call) {
    ctx.authorize(call, 'secretsmanager:GetRandomPassword', null);
    return { RandomPassword: randomPassword(req) };
  },
});
