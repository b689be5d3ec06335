import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../src/core/errors';
import { decodeJsonFrame, encodeEvent } from '../src/modules/json/json-codec';

describe('JSON codec', () => {
  it('decodes an event frame with type, room, data and id', () => {
    const decoded = decodeJsonFrame('{"type":"chat.message","room":"lobby","data":{"text":"hi"},"id":"c1"}');
    assert.deepEqual(decoded, {
      ok: true,
      frame: { type: 'chat.message', room: 'lobby', data: { text: 'hi' }, id: 'c1' },
    });
  });

  it('refuses text that is not JSON with bad_json', () => {
    const decoded = decodeJsonFrame('{"type":');
    assert.equal(decoded.ok, false);
    assert.equal(!decoded.ok && decoded.code, ErrorCode.BadJson);
  });

  for (const [what, text] of [
    ['an array', '[1,2]'],
    ['a string', '"room.join"'],
    ['null', 'null'],
    ['an object without type', '{"data":{}}'],
    ['an empty type', '{"type":""}'],
    ['a numeric room', '{"type":"a","room":5}'],
    ['an object id', '{"type":"a","id":{}}'],
  ] as const) {
    it(`refuses ${what} with bad_frame`, () => {
      const decoded = decodeJsonFrame(text);
      assert.equal(decoded.ok, false);
      assert.equal(!decoded.ok && decoded.code, ErrorCode.BadFrame);
    });
  }

  it('keeps the id of a frame it refuses, so the client can match the error', () => {
    const decoded = decodeJsonFrame('{"id":"c7","room":1,"type":"x"}');
    assert.equal(!decoded.ok && decoded.id, 'c7');
  });

  it('encodes an event once however many times it is delivered', () => {
    const event = { type: 'chat.message', room: 'r', data: { text: 'x' }, from: { node: 'n' }, offset: 3 };
    const first = encodeEvent(event);
    assert.equal(encodeEvent(event), first);
    assert.deepEqual(JSON.parse(first), event);
  });
});
