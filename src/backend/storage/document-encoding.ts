import { promisify } from 'node:util';
import { deflateRaw, inflateRawSync } from 'node:zlib';

/**
 * How a stored document's bytes hold its Yjs update (`yjs_encoding`): `deflate-raw` (raw
 * deflate, RFC 1951) for every document written since schema version 3, `raw` for one a
 * version 2 node wrote and nothing has replaced since.
 */
export type DocumentEncoding = 'raw' | 'deflate-raw';

/**
 * The fastest level: the point is the load of a cold room, which then moves a document's
 * compressed bytes out of the database instead of all of them (test/bench/findings.md, S9).
 */
const DEFLATE_LEVEL = 1;

const deflate = promisify(deflateRaw);

/** A document as it is written: its stored bytes, how they hold it, and its own size. */
export interface EncodedDocument {
  readonly bytes: Buffer;
  readonly encoding: DocumentEncoding;
  readonly size: number;
}

/**
 * Deflates off the event loop (zlib's thread pool): a copy of a large document would
 * otherwise hold up every connection of the node for as long as it takes (about 9 ms per
 * MB of an edited text document).
 */
export async function encodeDocument(update: Uint8Array): Promise<EncodedDocument> {
  return {
    bytes: await deflate(update, { level: DEFLATE_LEVEL }),
    encoding: 'deflate-raw',
    size: update.length,
  };
}

/** A stored document's bytes as the Yjs update they hold. */
export function decodeDocument(bytes: Uint8Array, encoding: string): Uint8Array {
  if (encoding === 'deflate-raw') return new Uint8Array(inflateRawSync(bytes));
  if (encoding === 'raw') return new Uint8Array(bytes);
  throw new Error(`a stored document has the unknown encoding ${JSON.stringify(encoding)}`);
}
