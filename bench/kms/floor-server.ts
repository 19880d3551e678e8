// The crypto floor: a raw node:http server doing only what any KMS must do for Encrypt — read the
// body, parse the JSON, decode the plaintext, derive the key (HKDF-SHA256) and seal it
// (AES-256-GCM) in rekey's own ciphertext format (sealCiphertext), answer JSON. No routing
// framework, no authentication, no policy, no audit, no store: the reference bench/kms divides by.
import { createServer } from 'node:http';
import { randomBytes } from '../../src/crypto/index.ts';
import { sealCiphertext } from '../../src/kms/ciphertext.ts';

const keyId = '00000000-0000-0000-0000-000000000000';
const arn = `arn:aws:kms:us-east-1:111122223333:key/${keyId}`;
const keyIdBytes = Buffer.from(keyId.replace(/-/g, ''), 'hex');
const materialIdBytes = randomBytes(32);
const material = randomBytes(32);
const empty = Buffer.alloc(0);

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Plaintext: string };
      const blob = sealCiphertext({ keyIdBytes, materialIdBytes, material, plaintext: Buffer.from(body.Plaintext, 'base64'), context: empty });
      const out = JSON.stringify({ CiphertextBlob: blob.toString('base64'), KeyId: arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    } catch {
      res.writeHead(400).end();
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.send?.({ port: typeof a === 'object' && a ? a.port : 0 });
});
process.on('SIGTERM', () => process.exit(0)); // a clean exit (writes --cpu-prof profiles)
