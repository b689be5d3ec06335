import { Y } from './esm';
import { EMPTY_UPDATE, encodeSyncStep2, encodeUpdate } from './yjs-codec';

/**
 * A room's document as a read found it: the snapshot and the log tail after it, the tail's
 * entries merged into one update (either part may be missing). Sync answers send the two
 * as they are: merging them costs the whole document's size on every read (25-38 ms for a
 * 10 MB snapshot here, bench S3), where a client integrates the two parts about as fast
 * as one merged update. Parts are never changed once read.
 */
export interface DocumentParts {
  readonly snapshot?: Uint8Array;
  readonly tail?: Uint8Array;
}

const wholes = new WeakMap<Uint8Array, DocumentParts>();

/**
 * One update as a document of one part (a cached or loaded document is merged already),
 * the same object for the same update, so that joiners given one cached document share
 * its state vector too.
 */
export function wholeDocument(update: Uint8Array): DocumentParts {
  let parts = wholes.get(update);
  if (!parts) {
    parts = { snapshot: update };
    wholes.set(update, parts);
  }
  return parts;
}

/** The parts as one update, for whoever needs one (compaction, the admin export, the cache). */
export function mergeParts(parts: DocumentParts): Uint8Array {
  if (parts.snapshot && parts.tail) return Y.mergeUpdates([parts.snapshot, parts.tail]);
  return parts.snapshot ?? parts.tail ?? EMPTY_UPDATE;
}

/**
 * The frames that give a client with `stateVector` what it lacks: the tail first, as an
 * update, then the snapshot as sync step 2. A client that cannot integrate the tail yet
 * keeps it pending and integrates it with the snapshot, so the provider's `synced` (on
 * step 2) comes with the whole document, as after one merged answer. An empty state
 * vector (a new client) gets the parts as they are, without decoding them to diff against nothing.
 */
export function syncAnswer(parts: DocumentParts, stateVector: Uint8Array): Uint8Array[] {
  const empty = stateVector.length === 1 && stateVector[0] === 0;
  if (!empty) return answerFrames(parts, (update) => Y.diffUpdate(update, stateVector));
  let frames = newClientAnswers.get(parts)?.deref();
  if (!frames) {
    frames = answerFrames(parts, (update) => update);
    newClientAnswers.set(parts, new WeakRef(frames));
  }
  return frames;
}

/**
 * The answer to new clients, per read: the joiners of a burst share one read, and each
 * got a copy of the whole document in a frame of its own (50 joiners of a 10 MB room, 500
 * MB copied and held at once). Frames are never changed once made; ws writes the same
 * buffer to every socket. Held weakly: once the sockets have written them they go, even
 * while the parts stay (a cached document's).
 */
const newClientAnswers = new WeakMap<DocumentParts, WeakRef<Uint8Array[]>>();

function answerFrames(parts: DocumentParts, missing: (update: Uint8Array) => Uint8Array): Uint8Array[] {
  if (parts.snapshot && parts.tail) {
    return [encodeUpdate(missing(parts.tail)), encodeSyncStep2(missing(parts.snapshot))];
  }
  return [encodeSyncStep2(missing(parts.snapshot ?? parts.tail ?? EMPTY_UPDATE))];
}

/** The whole document as update frames (for a client that holds an older one), the tail first as above. */
export function documentFrames(parts: DocumentParts): Uint8Array[] {
  if (!parts.snapshot && !parts.tail) return [encodeUpdate(EMPTY_UPDATE)];
  return [parts.tail, parts.snapshot]
    .filter((part): part is Uint8Array => part !== undefined)
    .map(encodeUpdate);
}

/**
 * The state vector of the whole document, once per read: joiners that share one read (a
 * burst) get the same parts, and decoding a 1 MB document for its state vector took 3.5 ms
 * per joiner. The snapshot's is read from its structs; the tail's structs of a client
 * extend it, in clock order, while each starts where the vector stands (or before): from
 * the first gap on (a struct further on, or a skip), nothing counts, as Yjs does not
 * count a client's structs after a gap. Overstating would tell a reconnecting client that
 * the server holds what it lacks, and the client would never send it.
 */
const stateVectors = new WeakMap<DocumentParts, Uint8Array>();

export function stateVectorOf(parts: DocumentParts): Uint8Array {
  let vector = stateVectors.get(parts);
  if (!vector) {
    vector = computeStateVector(parts);
    stateVectors.set(parts, vector);
  }
  return vector;
}

function computeStateVector(parts: DocumentParts): Uint8Array {
  if (!parts.snapshot || !parts.tail) {
    return Y.encodeStateVectorFromUpdate(parts.snapshot ?? parts.tail ?? EMPTY_UPDATE);
  }
  const clocks = Y.decodeStateVector(Y.encodeStateVectorFromUpdate(parts.snapshot));
  // A client's structs come in clock order; the tail is small (compaction bounds it).
  for (const struct of Y.decodeUpdate(parts.tail).structs) {
    if (struct instanceof Y.Skip) continue;
    const { client, clock } = struct.id;
    const known = clocks.get(client) ?? 0;
    if (clock <= known && clock + struct.length > known) clocks.set(client, clock + struct.length);
  }
  return Y.encodeStateVector(clocks);
}
