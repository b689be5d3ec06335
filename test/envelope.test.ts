import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEnvelope, encodeEnvelope } from '../src/backend/envelope';

describe('bus envelope', () => {
  it('round-trips a JSON event with its position', () => {
    const event = {
      type: 'chat.message',
      room: 'r',
      data: { text: 'hé' },
      from: { node: 'n', conn: 'c', user: 'u' },
      stream: 'events' as const,
      offset: 7,
      epoch: 'e',
    };
    assert.deepEqual(decodeEnvelope(encodeEnvelope(event)), event);
  });

  it('keeps binary data binary', () => {
    const data = new Uint8Array([0, 1, 2, 255]);
    const decoded = decodeEnvelope(
      encodeEnvelope({ type: 'yjs.update', room: 'd', data, from: { node: 'n' } }),
    );
    assert.ok(decoded.data instanceof Uint8Array);
    assert.deepEqual([...(decoded.data as Uint8Array)], [0, 1, 2, 255]);
  });

  it('throws on bytes that are not an envelope', () => {
    assert.throws(() => decodeEnvelope(Buffer.from([0, 0, 0, 9, 1])), /truncated/);
  });
});
