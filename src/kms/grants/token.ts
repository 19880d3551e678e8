// Grant tokens. AWS KMS: "When you create a grant ... the grant might not be effective
// immediately [eventual consistency]. ... use the grant token ... to use the permissions in a
// grant before the grant is fully established." A rekey grant token carries the grant's terms
// sealed (AES-256-GCM) under a key stored through the barrier and shared by every node, so a node
// whose cached view of the key predates the grant can still honour it at once, and nothing in a
// token can be forged or altered. Tokens are opaque to clients.
//
// A token never outlives its grant: it names the key record version that the grant creation wrote
// (`keyVersion`). A node trusts the token's terms only while its own view of the key is older than
// that version; once it has seen that version, the stored grants alone decide, so a revoked or
// retired grant stops working as soon as the node sees the revocation (at once here, within the key
// cache TTL elsewhere).
import { CasConflict } from '../../storage/backend.ts';
import type { Barrier } from '../../storage/barrier.ts';
import { InvalidGrantTokenException } from '../../errors.ts';
import { IV_BYTES, TAG_BYTES, open, randomBytes, seal } from '../../crypto/index.ts';
import type { GrantTerms } from './model.ts';

export const TOKEN_KEY_PATH = 'kms/grant-token-key';
const AAD = Buffer.from('rekey kms grant token v1', 'utf8');
const VERSION = 1;

export interface TokenClaims extends GrantTerms {
  keyId: string;
  /** The key record version written together with the grant. */
  keyVersion: number;
}

/** AWS KMS (InvalidGrantTokenException): "The request was rejected because the specified grant token is not valid." */
export function invalidToken(): Error {
  return new InvalidGrantTokenException('The grant token is not valid.');
}

export class GrantTokens {
  private key: Promise<Buffer> | undefined;

  constructor(private readonly barrier: Barrier) {}

  async issue(claims: TokenClaims): Promise<string> {
    const key = await this.tokenKey();
    const s = seal(key, Buffer.from(JSON.stringify(claims), 'utf8'), AAD);
    return Buffer.concat([Buffer.from([VERSION]), s.iv, s.tag, s.ciphertext]).toString('base64url');
  }

  /** The claims of a token this installation issued; InvalidGrantTokenException for anything else. */
  async open(token: string): Promise<TokenClaims> {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw invalidToken();
    const raw = Buffer.from(token, 'base64url');
    if (raw.length < 1 + IV_BYTES + TAG_BYTES + 2 || raw[0] !== VERSION) throw invalidToken();
    const key = await this.tokenKey();
    let plain: Buffer;
    try {
      plain = open(key, raw.subarray(1, 1 + IV_BYTES), raw.subarray(1 + IV_BYTES + TAG_BYTES), raw.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES), AAD);
    } catch {
      throw invalidToken();
    }
    return JSON.parse(plain.toString('utf8')) as TokenClaims;
  }

  private tokenKey(): Promise<Buffer> {
    this.key ??= this.loadOrCreate().catch((e: unknown) => {
      this.key = undefined;
      throw e;
    });
    return this.key;
  }

  private async loadOrCreate(): Promise<Buffer> {
    for (;;) {
      const got = await this.barrier.getJSON<{ v: 1; key: string }>(TOKEN_KEY_PATH);
      if (got) return Buffer.from(got.value.key, 'base64');
      try {
        await this.barrier.putJSON(TOKEN_KEY_PATH, { v: 1, key: randomBytes(32).toString('base64') }, { expectVersion: 0 });
      } catch (e) {
        if (!(e instanceof CasConflict)) throw e; // another node created it first: read theirs
      }
    }
  }
}
