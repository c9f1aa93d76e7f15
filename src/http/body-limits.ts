/**
 * Bounds on what a response may cost before it is trusted: its size in bytes, how deep its JSON nests and
 * how long one string in it runs. A broken proxy or a hostile server on the path (or a TLS-inspecting box
 * that went wrong) must end one request with a clear error, not exhaust memory or the stack of whatever
 * later walks the document (JSON.stringify of an event, a log line).
 *
 * The limits are far above anything Microsoft sends: a full Graph page of 5,000 message trace rows is a
 * few MB, nests 3 levels, and its longest strings are subjects and skip tokens of a few hundred characters;
 * a token response is a few KB.
 */

export interface BodyLimits {
  /** Bytes of the body as received (after content decoding). */
  maxBytes: number;
  /** Objects and arrays open at once. */
  maxDepth: number;
  /** Characters of one JSON string, as written in the body (escapes counted as written). */
  maxStringLength: number;
}

const MiB = 1024 * 1024;

/** Microsoft Graph responses: a page, a details page or an error body. */
export const GRAPH_BODY_LIMITS: BodyLimits = { maxBytes: 64 * MiB, maxDepth: 32, maxStringLength: 64 * 1024 };
/** Entra ID / managed identity token responses and discovery documents. */
export const TOKEN_BODY_LIMITS: BodyLimits = { maxBytes: 1 * MiB, maxDepth: 32, maxStringLength: 64 * 1024 };

export type BodyLimitReason = 'too_large' | 'too_deep' | 'string_too_long';

export class BodyLimitError extends Error {
  override readonly name = 'BodyLimitError';
  constructor(
    readonly reason: BodyLimitReason,
    readonly limit: number,
  ) {
    super(describeLimit(reason, limit));
  }
}

function describeLimit(reason: BodyLimitReason, limit: number): string {
  switch (reason) {
    case 'too_large':
      return limit >= MiB ? `a body larger than ${limit / MiB} MiB` : `a body larger than ${limit} bytes`;
    case 'too_deep':
      return `JSON nested deeper than ${limit} levels`;
    case 'string_too_long':
      return `a JSON string longer than ${limit} characters`;
  }
}

/**
 * Reads a response body as UTF-8 text, refusing (and cancelling the transfer of) one over `maxBytes`: by
 * its Content-Length before reading, else as soon as the bytes received pass the limit. Like
 * Response.text(), the text has no leading BOM and invalid sequences are replaced.
 */
export async function readBodyWithin(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    // Not awaited: some transports settle a cancel only when the peer closes; the caller should not wait.
    response.body?.cancel().catch(() => undefined);
    throw new BodyLimitError('too_large', maxBytes);
  }
  if (response.body === null) return '';
  let reader: ReadableStreamBYOBReader;
  try {
    reader = response.body.getReader({ mode: 'byob' });
  } catch {
    // Not a byte stream (a Response made from a plain ReadableStream): chunk by chunk.
    return readChunksWithin(response.body.getReader(), maxBytes);
  }
  return readIntoBuffer(reader, maxBytes, Number.isFinite(declared) ? declared : undefined);
}

/**
 * The buffer the last body was read into, for the next: bodies are read straight into it (a byte stream
 * copies each chunk there) and decoded once. Reading chunk by chunk instead, each chunk's text stayed
 * alive until the last one came, so every page left some hundred strings that outlived young-generation
 * collections and were copied and promoted: 22 scavenges per 200,000 rows against 6 to 10 this way, and
 * about 7 % of the collector's CPU per event (`node --import tsx bench/profile-collector.ts`). Peak RSS at
 * max_fetch 50,000 went from 114.7-118.8 to 111.8-112.9 MB (`npm run bench -- --only memory`, 1 Dec).
 * Only bytes up to the current body's length are ever decoded, so nothing of an earlier body (a token
 * response, say) can reach a later text. A read takes the buffer, so two reads never share one.
 */
let spareBuffer: ArrayBuffer | undefined;
/** Bodies larger than this (a Graph page is 2 to 3 MB) leave their buffer to the garbage collector. */
const SPARE_BUFFER_MAX_BYTES = 8 * MiB;
const FIRST_BUFFER_BYTES = 64 * 1024;

async function readIntoBuffer(reader: ReadableStreamBYOBReader, maxBytes: number, declared: number | undefined): Promise<string> {
  // One byte more than declared: the read that finds the end needs room for one.
  const wanted = declared === undefined ? FIRST_BUFFER_BYTES : declared + 1;
  // An eighth more than this body needs, so that the next page, a little larger, still fits: a new buffer per
  // page would leave one for the collector each time.
  let buffer =
    spareBuffer !== undefined && spareBuffer.byteLength >= wanted ? spareBuffer : new ArrayBuffer(Math.min(maxBytes + 1, wanted + (wanted >> 3)));
  spareBuffer = undefined;
  let filled = 0;
  try {
    for (;;) {
      if (filled === buffer.byteLength) {
        const grown = new ArrayBuffer(Math.min(maxBytes + 1, 2 * buffer.byteLength));
        new Uint8Array(grown).set(new Uint8Array(buffer, 0, filled));
        buffer = grown;
      }
      // The view's buffer is handed to the stream and comes back (as `value.buffer`) holding the bytes read.
      const { done, value } = await reader.read(new Uint8Array(buffer, filled, buffer.byteLength - filled));
      if (value !== undefined) buffer = value.buffer as ArrayBuffer;
      if (done) break;
      filled += value.byteLength;
      if (filled > maxBytes) refuseTooLarge(reader, maxBytes);
    }
    return new TextDecoder().decode(new Uint8Array(buffer, 0, filled));
  } finally {
    if (buffer.byteLength <= SPARE_BUFFER_MAX_BYTES && buffer.byteLength > 0) spareBuffer = buffer;
  }
}

/** Stops the transfer of a body past the limit (not awaited, for the reason readBodyWithin gives) and says why. */
function refuseTooLarge(reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): never {
  reader.cancel().catch(() => undefined);
  throw new BodyLimitError('too_large', maxBytes);
}

async function readChunksWithin(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<string> {
  // Decoded as the chunks arrive (stream mode carries a sequence split between chunks over).
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) refuseTooLarge(reader, maxBytes);
    parts.push(decoder.decode(value, { stream: true }));
  }
  parts.push(decoder.decode());
  return parts.join('');
}

/**
 * The first limit a JSON text breaks, or undefined. One linear pass over the text, before JSON.parse:
 * strings are skipped with indexOf, so the cost is close to a copy. Malformed JSON is left to JSON.parse.
 */
export function jsonShapeProblem(text: string, limits: Pick<BodyLimits, 'maxDepth' | 'maxStringLength'>): BodyLimitError | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let end = i;
      for (;;) {
        end = text.indexOf('"', end + 1);
        if (end === -1) return undefined;
        let backslashes = 0;
        for (let j = end - 1; text.charCodeAt(j) === 0x5c; j--) backslashes++;
        if (backslashes % 2 === 0) break;
      }
      if (end - i - 1 > limits.maxStringLength) return new BodyLimitError('string_too_long', limits.maxStringLength);
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limits.maxDepth) return new BodyLimitError('too_deep', limits.maxDepth);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return undefined;
}

/** Reads and checks a body against every limit; the text is safe to JSON.parse afterwards. */
export async function readJsonTextWithin(response: Response, limits: BodyLimits): Promise<string> {
  const text = await readBodyWithin(response, limits.maxBytes);
  const problem = jsonShapeProblem(text, limits);
  if (problem) throw problem;
  return text;
}
