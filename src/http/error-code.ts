/**
 * The stable code of a failed request, for every caller that has to tell failures apart (retry verdicts,
 * messages naming ECONNREFUSED or CERT_HAS_EXPIRED). fetch rejects with a bare `TypeError('fetch failed')`;
 * what went wrong is further in: undici's error (`UND_ERR_SOCKET`, `UND_ERR_HEADERS_TIMEOUT`) or Node's socket
 * or TLS error (`ECONNRESET`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`) in its `cause`, and for a host with several
 * addresses an AggregateError whose `errors` hold one failure per address.
 *
 * The one rule: walk the error, then depth first through each AggregateError's `errors` and each `cause`,
 * and take the first string `code` met. An error named AbortError or TimeoutError with no string code (the
 * DOMException fetch rejects with when its signal fires; its numeric `code` is legacy) counts as its name, so
 * a timed-out request reads as one. Never the message text: it changes between versions and locales.
 * The walk stops at cycles and after a bounded number of errors, so a hostile or odd object cannot hang it.
 */

const MAX_ERRORS_VISITED = 32;
const ABORT_NAMES: ReadonlySet<unknown> = new Set(['AbortError', 'TimeoutError']);

export function networkErrorCode(error: unknown): string | undefined {
  const seen = new Set<object>();
  const pending: unknown[] = [error];
  while (pending.length > 0 && seen.size < MAX_ERRORS_VISITED) {
    const current = pending.shift();
    if (current === null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const { code, name, errors, cause } = current as { code?: unknown; name?: unknown; errors?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    if (ABORT_NAMES.has(name)) return name as string;
    // Depth first: this error's own inner errors before anything queued after it.
    pending.unshift(...(Array.isArray(errors) ? errors : []), cause);
  }
  return undefined;
}
