// Server-log lines that domain code must leave without depending on the HTTP adapter's logger:
// an unexpected error that became KMSInternalException / InternalServiceError (with its cause and
// the request id, docs/errors.md: "details are in the server log"), and a stored row that failed
// authentication (tampered, moved or rolled back). One JSON line each on stderr, in pino's shape
// (level 50 = error), so they sit beside the request log. Never secret material: the cause's
// type, message and stack, a storage path (key ids, secret names), a request id.
//
// REKEY_LOG_LEVEL=silent silences them; tests capture them with setDiagnosticsSink.

export interface DiagnosticLine {
  level: 50 | 40;
  time: number;
  msg: string;
  /** 'internal-error' | 'tamper' */
  kind: string;
  requestId?: string;
  /** The storage path whose value failed authentication. */
  path?: string;
  err?: { type: string; message: string; stack?: string };
}

type Sink = (line: DiagnosticLine) => void;

const stderrSink: Sink = (line) => {
  if (process.env['REKEY_LOG_LEVEL'] === 'silent') return;
  process.stderr.write(JSON.stringify(line) + '\n');
};

let sink: Sink = stderrSink;

/** Replaces where diagnostics go (tests); returns a function that restores the previous sink. */
export function setDiagnosticsSink(next: Sink): () => void {
  const prev = sink;
  sink = next;
  return () => {
    sink = prev;
  };
}

function describe(e: unknown): DiagnosticLine['err'] {
  if (e instanceof Error) return { type: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { type: typeof e, message: String(e).slice(0, 512) };
}

function emit(line: DiagnosticLine): void {
  try {
    sink(line);
  } catch {
    // a log line never turns into a request failure
  }
}

/** An unexpected error converted to an internal error for the client: its cause, for the operator. */
export function reportInternalError(service: string, cause: unknown, requestId: string | undefined): void {
  emit({ level: 50, time: Date.now(), kind: 'internal-error', msg: `${service}: unexpected error (the client saw an internal error)`, ...(requestId ? { requestId } : {}), err: describe(cause) });
}

/** A stored value failed authentication: tampered with, moved to another path, or rolled back. */
export function reportTamper(path: string, detail: string): void {
  emit({ level: 50, time: Date.now(), kind: 'tamper', msg: `storage: ${detail}`, path });
}

/** The node's rollback marks file could not be used (edited, another store's, unreadable): it starts without marks. */
export function reportRollbackMarks(problem: string): void {
  emit({ level: 40, time: Date.now(), kind: 'rollback-marks', msg: `storage: rollback detection starts without marks: ${problem}` });
}
