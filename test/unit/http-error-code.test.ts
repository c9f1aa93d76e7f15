/**
 * The one walker that finds a failed request's code (src/http/error-code.ts), used by the Graph client's and
 * the XSIAM sink's retry verdicts and by the token requests' transport messages: a table of the shapes fetch
 * and undici reject with, then real failures on the loopback interface.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { networkErrorCode } from '../../src/http/error-code.js';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

function cycle(): Error {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  Object.assign(a, { cause: b });
  return a;
}

function chain(length: number, innermost: unknown): unknown {
  let error = innermost;
  for (let i = 0; i < length; i++) error = new Error(`level ${i}`, { cause: error });
  return error;
}

describe('networkErrorCode', () => {
  it.each<[string, unknown, string | undefined]>([
    ['undici’s code in the cause', new TypeError('fetch failed', { cause: coded('UND_ERR_SOCKET', 'other side closed') }), 'UND_ERR_SOCKET'],
    ['a code two causes deep', new TypeError('fetch failed', { cause: new Error('wrapped', { cause: coded('ECONNRESET') }) }), 'ECONNRESET'],
    ['the error’s own code (a socket error thrown as it is)', coded('EPIPE'), 'EPIPE'],
    ['the outer code before an inner one', Object.assign(new Error('x', { cause: coded('ECONNRESET') }), { code: 'UND_ERR_SOCKET' }), 'UND_ERR_SOCKET'],
    ['never the message text', new TypeError('ECONNRESET in the text only'), undefined],
    [
      'an AggregateError (one error per address)',
      new TypeError('fetch failed', { cause: new AggregateError([coded('ECONNREFUSED')], 'connect failed') }),
      'ECONNREFUSED',
    ],
    [
      'the first address with a code',
      new TypeError('fetch failed', { cause: new AggregateError([new Error('no code'), coded('ENETUNREACH'), coded('ECONNREFUSED')]) }),
      'ENETUNREACH',
    ],
    [
      'a code in the cause of an aggregated error',
      new AggregateError([new Error('connect', { cause: coded('EHOSTUNREACH') })]),
      'EHOSTUNREACH',
    ],
    ['an abort (DOMException, numeric code)', new DOMException('This operation was aborted', 'AbortError'), 'AbortError'],
    ['a timeout signal', new DOMException('The operation timed out.', 'TimeoutError'), 'TimeoutError'],
    ['a timeout inside fetch’s TypeError', new TypeError('fetch failed', { cause: new DOMException('t', 'TimeoutError') }), 'TimeoutError'],
    ['undici’s own abort code before the name', Object.assign(new Error('aborted'), { name: 'AbortError', code: 'UND_ERR_ABORTED' }), 'UND_ERR_ABORTED'],
    ['another DOMException (numeric code only)', new DOMException('x', 'NetworkError'), undefined],
    ['a numeric code', Object.assign(new Error('x'), { code: 20 }), undefined],
    ['undefined', undefined, undefined],
    ['null', null, undefined],
    ['a string', 'ECONNRESET', undefined],
    ['a number', 42, undefined],
    ['a plain object with a code', { code: 'ECONNRESET' }, 'ECONNRESET'],
    ['errors that is not an array', Object.assign(new Error('x'), { errors: 'ECONNRESET' }), undefined],
    ['a cause cycle without a code', cycle(), undefined],
    ['a code past a long chain', chain(100, coded('ECONNRESET')), undefined],
    ['a code within a plausible chain', chain(10, coded('ECONNRESET')), 'ECONNRESET'],
  ])('%s', (_, error, expected) => {
    expect(networkErrorCode(error)).toBe(expected);
  });
});

describe('networkErrorCode on real failures (loopback only)', () => {
  it('a refused connection is ECONNREFUSED', async () => {
    // A port that was just free: bind, read the number, close.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(networkErrorCode(error)).toBe('ECONNREFUSED');
  });

  it('a request whose signal fired reads as the signal’s reason', async () => {
    const aborted = await fetch('http://127.0.0.1:9/', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(networkErrorCode(aborted)).toBe('AbortError');
    const timedOut = await fetch('http://127.0.0.1:9/', { signal: AbortSignal.abort(new DOMException('t', 'TimeoutError')) }).catch(
      (e: unknown) => e,
    );
    expect(networkErrorCode(timedOut)).toBe('TimeoutError');
  });
});
