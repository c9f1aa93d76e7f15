/**
 * Paging as an async iterator of whole pages. Each `@odata.nextLink` is followed as Graph wrote it (it
 * already carries the query), after two checks:
 * - it stays on the configured Graph origin: the bearer token goes with every page request and must never
 *   reach another host (a tampered or misrouted link is refused, not followed);
 * - it advances: a link already requested would loop forever.
 */
import { IntegrationError } from '../errors.js';

export interface Page<T> {
  items: T[];
  nextLink?: string | undefined;
}

export interface PagerDeps<T> {
  /** Graph origin, e.g. `https://graph.microsoft.com`. */
  origin: string;
  /** Gets and parses one page (with auth, retries and budget). */
  getPage: (url: string, signal?: AbortSignal) => Promise<Page<T>>;
}

/** The absolute URL of a next link, or an IntegrationError when it may not be followed. */
export function checkNextLink(nextLink: string, currentUrl: string, origin: string, requested: ReadonlySet<string>): string {
  let url: URL;
  try {
    url = new URL(nextLink, currentUrl);
  } catch {
    throw new IntegrationError('graph_invalid_response', 'Microsoft Graph returned an @odata.nextLink that is not a URL; paging stopped.');
  }
  const expected = new URL(origin);
  if (url.origin !== expected.origin || url.username !== '' || url.password !== '') {
    // The host is named (it is not a secret); the token is not sent there.
    throw new IntegrationError(
      'graph_invalid_response',
      `Microsoft Graph returned an @odata.nextLink to ${url.protocol}//${url.host}, outside the configured Graph URL ${expected.origin}; paging stopped so the access token is not sent there.`,
    );
  }
  const absolute = url.href;
  if (requested.has(absolute)) {
    throw new IntegrationError('graph_invalid_response', 'Microsoft Graph returned an @odata.nextLink that does not advance (a page already read); paging stopped.');
  }
  return absolute;
}

export async function* iteratePages<T>(firstUrl: string, deps: PagerDeps<T>, signal?: AbortSignal): AsyncGenerator<Page<T>, void, undefined> {
  const requested = new Set<string>();
  let url: string | undefined = firstUrl;
  while (url !== undefined) {
    signal?.throwIfAborted();
    requested.add(new URL(url).href);
    const page: Page<T> = await deps.getPage(url, signal);
    const next: string | undefined = page.nextLink === undefined ? undefined : checkNextLink(page.nextLink, url, deps.origin, requested);
    yield page;
    url = next;
  }
}
