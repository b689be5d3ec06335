import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEnvelope, encodeEnvelope, isFromNode, nodePrefix } from '../src/backend/envelope';

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

  it('tells a node its own envelopes by their first bytes, and only its own', () => {
    const from = (node: string) =>
      encodeEnvelope({ type: 't', room: 'r', data: {}, from: { node, conn: 'c' } });
    assert.equal(isFromNode(from('n'), nodePrefix('n')), true);
    assert.equal(isFromNode(from('n'), nodePrefix('n2')), false, 'another node');
    assert.equal(isFromNode(from('n2'), nodePrefix('n')), false, 'a node whose id begins with ours');
    assert.equal(isFromNode(from('a"b\\c'), nodePrefix('a"b\\c')), true, 'an id JSON escapes');
    const bytes = encodeEnvelope({ type: 'y', room: 'r', data: new Uint8Array([1]), from: { node: 'n' } });
    assert.equal(isFromNode(bytes, nodePrefix('n')), true, 'a binary event');
    const otherLayout = encodeEnvelope({ type: 't', room: 'r', data: {}, from: { conn: 'c', node: 'n' } });
    assert.equal(isFromNode(otherLayout, nodePrefix('n')), false, 'not told: decoded instead');
    assert.equal(decodeEnvelope(otherLayout).from.node, 'n');
    assert.equal(isFromNode(Buffer.from([0, 0]), nodePrefix('n')), false, 'too short');
  });

  it('throws on bytes that are not an envelope', () => {
    assert.throws(() => decodeEnvelope(Buffer.from([0, 0, 0, 9, 1])), /truncated/);
  });
});
