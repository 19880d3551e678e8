// Transaction-mode pinning (as RDS Proxy does): a statement that leaves state in the server session
// beyond the transaction ties the client to its server connection for the rest of its session.
// Checked on the text of simple-protocol Query messages (and named Parse in client.ts).

// A statement start: the beginning of the text or after a ';' (multi-statement queries).
const RULES: [RegExp, string][] = [
  // SET / RESET outside SET LOCAL and SET TRANSACTION (which end with the transaction)
  [/(?:^|;)\s*(?:SET|RESET)\s+(?!LOCAL\b|TRANSACTION\b|SESSION\s+CHARACTERISTICS\b)/i, 'SET'],
  [/(?:^|;)\s*PREPARE\s/i, 'PREPARE'],
  [/(?:^|;)\s*CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?TEMP(?:ORARY)?\s/i, 'temporary table'],
  [/(?:^|;)\s*(?:LISTEN|UNLISTEN)\s/i, 'LISTEN'],
  [/(?:^|;)\s*DECLARE\s[\s\S]*\bWITH\s+HOLD\b/i, 'cursor WITH HOLD'],
  [/(?:^|;)\s*LOAD\s/i, 'LOAD'],
  [/\bpg_(?:try_)?advisory_lock(?:_shared)?\s*\(/i, 'advisory lock'],
  [/\bset_config\s*\(/i, 'set_config'],
];

// What every rule above needs (a superset): one pass over the text clears the usual statement
// before the eight rules run (this runs for every Query in transaction mode).
const ANY = /(?:^|;)\s*(?:RE)?SET\s|(?:^|;)\s*(?:PREPARE|CREATE|(?:UN)?LISTEN|DECLARE|LOAD)\s|advisory_lock|set_config/i;

/** The reason a Query message pins its client, or undefined. `body` is the Query body (text + NUL). */
export function isPinningQuery(body: Buffer): string | undefined {
  const text = body.toString('utf8', 0, Math.max(0, body.length - 1));
  if (!ANY.test(text)) return undefined;
  for (const [re, why] of RULES) if (re.test(text)) return why;
  return undefined;
}
