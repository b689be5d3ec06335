import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { JsonClient } from '../helpers/client';
import { eventsUrl, startNode } from '../helpers/nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from './yjs-helpers';

describe('a room shared by Yjs editors and JSON clients', () => {
  let node: SwarmNode;
  let json: JsonClient;

  before(async () => {
    node = await startNode({ extensions: [new YjsExtension()] });
  });
  after(async () => {
    destroyAll();
    json?.socket.terminate();
    await node.close();
  });

  it('gives JSON members the room’s JSON events and none of its binary Yjs traffic', async () => {
    json = await JsonClient.connect(eventsUrl(node));
    await json.join('mixed');
    const editor = await synced(provider(node, 'mixed'));
    editor.awareness.setLocalStateField('user', { name: 'ed' });
    editor.doc.getText('text').insert(0, 'hello');
    const reader = await synced(provider(node, 'mixed'));
    await waitFor(() => reader.doc.getText('text').toString() === 'hello', 'the edit at another editor');
    await json.request('chat.message', { room: 'mixed', data: { text: 'after the edit' } });
    await json.next((f) => f.type === 'chat.message', 'the chat message');
    assert.deepEqual(
      json.frames.filter((f) => f.type.startsWith('yjs.')).map((f) => f.type),
      [],
      'no yjs.* frame on /events',
    );
  });
});
