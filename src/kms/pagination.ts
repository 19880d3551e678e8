// List pagination: Limit with a per-operation default and maximum, and opaque Markers.
// A marker encodes the listing it belongs to and the last item returned, so a marker from another
// listing, or one that was edited, is rejected with InvalidMarkerException.
import { InvalidMarkerException } from '../errors.ts';

export const INVALID_MARKER_MESSAGE = 'The pagination marker is not valid. Pass the NextMarker value from the previous response unchanged.';

export function encodeMarker(listing: string, last: string): string {
  return Buffer.from(`${listing}\n${last}`, 'utf8').toString('base64url');
}

/** The last item of the previous page, or undefined for the first page. */
export function decodeMarker(listing: string, marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(marker)) throw new InvalidMarkerException(INVALID_MARKER_MESSAGE);
  const text = Buffer.from(marker, 'base64url').toString('utf8');
  const nl = text.indexOf('\n');
  if (nl < 0 || text.slice(0, nl) !== listing || nl === text.length - 1 || encodeMarker(listing, text.slice(nl + 1)) !== marker) {
    throw new InvalidMarkerException(INVALID_MARKER_MESSAGE);
  }
  return text.slice(nl + 1);
}

/** AWS KMS: "If you include a value, it must be between 1 and <max>, inclusive. If you do not include a value, it defaults to <def>." */
export function pageSize(limit: number | undefined, def: number, max: number): number {
  return Math.min(limit ?? def, max);
}

export interface Page<T> {
  items: T[];
  truncated: boolean;
}

/** Pages an in-memory list sorted by `keyOf`, starting strictly after `after`. */
export function pageSorted<T>(all: readonly T[], keyOf: (t: T) => string, after: string | undefined, limit: number): Page<T> {
  const start = after === undefined ? 0 : all.findIndex((t) => keyOf(t) > after);
  const from = start < 0 ? all.length : start;
  return { items: all.slice(from, from + limit), truncated: from + limit < all.length };
}

/** The NextMarker/Truncated members of a list response. */
export function pageTail(listing: string, truncated: boolean, last: string | undefined): Record<string, unknown> {
  return truncated && last !== undefined ? { NextMarker: encodeMarker(listing, last), Truncated: true } : { Truncated: false };
}
