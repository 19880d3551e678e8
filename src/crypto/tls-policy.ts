// The TLS policy of every listener rekey terminates (the HTTPS API and the PostgreSQL proxy):
// TLS 1.2 or 1.3, and AEAD suites only (AES-GCM, ChaCha20-Poly1305) with forward secrecy.
// Node's default list still offers CBC suites with SHA-1 MACs on TLS 1.2 (ECDHE-RSA-AES128-SHA,
// AES256-SHA, ...); Mozilla's "intermediate" profile, which this list follows, does not.
// Issue 17 item 13; test/tls.test.ts connects with a CBC-SHA1 suite and is refused.

export const TLS_MIN_VERSION = 'TLSv1.2' as const;

/** OpenSSL cipher string: TLS 1.3 suites (names starting TLS_) and TLS 1.2 ECDHE AEAD suites. */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Options for tls.createSecureContext / https.createServer: the policy above. */
export const TLS_POLICY = { minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS, honorCipherOrder: true } as const;
