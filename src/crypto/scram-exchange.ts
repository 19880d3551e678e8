// SCRAM-SHA-256 message exchange (RFC 5802 / RFC 7677), both sides, as PostgreSQL speaks it; and
// PostgreSQL's md5 password response. The proxy is the SCRAM server for its clients and a SCRAM
// (or md5/cleartext) client of the database.
//
// RFC 5802 section 3:
//   AuthMessage     := client-first-message-bare + "," + server-first-message + "," +
//                      client-final-message-without-proof
//   ClientSignature := HMAC(StoredKey, AuthMessage)
//   ClientProof     := ClientKey XOR ClientSignature
//   ServerSignature := HMAC(ServerKey, AuthMessage)
//   "The server verifies the nonce and the proof, verifies that the authorization identity (if
//    supplied by the client in the first message) is authorized ..."
// PostgreSQL (docs, "SASL Authentication" / "SCRAM-SHA-256 Authentication"): "The username that the client provides
// in the client-first-message is ignored by the server", and channel binding is only offered
// (SCRAM-SHA-256-PLUS) over TLS.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual, zeroize } from './index.ts';
import { scramSaltedPassword, type ScramKeys } from './scram.ts';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
const NONCE_BYTES = 18; // PostgreSQL's SCRAM_RAW_NONCE_LEN

/** A SCRAM message that does not follow the grammar, or a nonce/binding mismatch. */
export class ScramProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScramProtocolError';
  }
}

function hmac(key: Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function attrs(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    if (part.length < 2 || part[1] !== '=') throw new ScramProtocolError('malformed SCRAM attribute');
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

// printable = %x21-2B / %x2D-7E  (RFC 5802: nonces are printable characters except ',')
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;

export interface ScramServerState {
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
  gs2Header: string;
}

/** Server side, step 1: parses client-first-message, returns the server-first-message to send. */
export function scramServerFirst(clientFirst: string, salt: Uint8Array, iterations: number, serverNonce = randomBytes(NONCE_BYTES).toString('base64')): ScramServerState {
  // client-first-message = gs2-header client-first-message-bare; gs2-header = gs2-cbind-flag "," [authzid] ","
  const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/.exec(clientFirst);
  if (!m) throw new ScramProtocolError('malformed SCRAM client-first-message');
  if (m[1]!.startsWith('p=')) throw new ScramProtocolError('channel binding is not supported on this connection');
  if (m[2]) throw new ScramProtocolError('authorization identity is not supported');
  const bare = m[3]!;
  const a = attrs(bare);
  const cnonce = a.get('r');
  if (bare.startsWith('m=')) throw new ScramProtocolError('SCRAM extensions are not supported');
  if (!a.has('n') || !cnonce || !PRINTABLE.test(cnonce)) throw new ScramProtocolError('malformed SCRAM client-first-message');
  const nonce = cnonce + serverNonce;
  const serverFirst = `r=${nonce},s=${Buffer.from(salt).toString('base64')},i=${iterations}`;
  return { clientFirstBare: bare, serverFirst, nonce, gs2Header: `${m[1]},${m[2] ?? ''},` };
}

/**
 * Server side, step 2: checks client-final-message against each candidate's keys (all derived
 * with the salt and iterations sent in server-first). Returns the index of the matching candidate
 * and the server-final-message, or undefined when the proof matches none. The proof is compared
 * in constant time.
 */
export function scramServerFinal(state: ScramServerState, clientFinal: string, candidates: readonly ScramKeys[]): { index: number; serverFinal: string } | undefined {
  const pIdx = clientFinal.lastIndexOf(',p=');
  if (pIdx < 0) throw new ScramProtocolError('malformed SCRAM client-final-message');
  const withoutProof = clientFinal.slice(0, pIdx);
  const a = attrs(withoutProof);
  if (a.get('c') !== Buffer.from(state.gs2Header, 'utf8').toString('base64')) throw new ScramProtocolError('SCRAM channel binding check failed');
  if (a.get('r') !== state.nonce) throw new ScramProtocolError('SCRAM nonce mismatch');
  const proof = Buffer.from(clientFinal.slice(pIdx + 3), 'base64');
  if (proof.length !== 32) throw new ScramProtocolError('malformed SCRAM proof');
  const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
  let found = -1;
  candidates.forEach((k, i) => {
    const clientSignature = hmac(k.storedKey, authMessage);
    const clientKey = Buffer.alloc(32);
    for (let j = 0; j < 32; j++) clientKey[j] = proof[j]! ^ clientSignature[j]!;
    const stored = createHash('sha256').update(clientKey).digest();
    // every candidate is checked (no early exit), so timing does not tell which one matched
    if (constantTimeEqual(stored, k.storedKey) && found < 0) found = i;
    zeroize(clientKey, clientSignature);
  });
  if (found < 0) return undefined;
  const serverSignature = hmac(candidates[found]!.serverKey, authMessage);
  return { index: found, serverFinal: `v=${serverSignature.toString('base64')}` };
}

/** Client side (the proxy logging in to the database). */
export class ScramClient {
  private readonly clientNonce: string;
  private readonly clientFirstBare: string;
  private expectedServerSignature: Buffer | undefined;

  /** `user` is empty by default: PostgreSQL ignores the SCRAM user name and libpq sends none. */
  constructor(private readonly password: string, nonce = randomBytes(NONCE_BYTES).toString('base64'), user = '') {
    this.clientNonce = nonce;
    this.clientFirstBare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${this.clientNonce}`;
  }

  clientFirst(): string {
    return `n,,${this.clientFirstBare}`;
  }

  /** Computes client-final-message from server-first-message. */
  clientFinal(serverFirst: string): string {
    const a = attrs(serverFirst);
    const nonce = a.get('r');
    const salt = a.get('s');
    const iterations = Number(a.get('i'));
    if (!nonce || !nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) throw new ScramProtocolError('SCRAM server nonce is invalid');
    if (!salt || !Number.isSafeInteger(iterations) || iterations < 1 || iterations > 10_000_000) throw new ScramProtocolError('malformed SCRAM server-first-message');
    const salted = scramSaltedPassword(this.password, Buffer.from(salt, 'base64'), iterations);
    const clientKey = hmac(salted, 'Client Key');
    const serverKey = hmac(salted, 'Server Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,")
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(32);
    for (let j = 0; j < 32; j++) proof[j] = clientKey[j]! ^ signature[j]!;
    this.expectedServerSignature = hmac(serverKey, authMessage);
    zeroize(salted, clientKey, serverKey, storedKey, signature);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Verifies server-final-message ("v=" ServerSignature) in constant time. */
  verifyServerFinal(serverFinal: string): boolean {
    if (!this.expectedServerSignature || !serverFinal.startsWith('v=')) return false;
    return constantTimeEqual(Buffer.from(serverFinal.slice(2), 'base64'), this.expectedServerSignature);
  }
}

/** PostgreSQL md5 response: "md5" || md5hex(md5hex(password || user) || salt). */
export function postgresMd5Response(user: string, password: string, salt: Uint8Array): string {
  const inner = createHash('md5').update(password, 'utf8').update(user, 'utf8').digest('hex');
  return 'md5' + createHash('md5').update(inner, 'utf8').update(salt).digest('hex');
}

export function scramNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64');
}
