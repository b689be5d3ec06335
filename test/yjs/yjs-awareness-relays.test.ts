import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryBackend } from '../../src/backend/memory/memory-backend';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { startNode } from '../helpers/nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, type Provider, provider, synced } from './yjs-helpers';

describe('awareness relays in a busy room', () => {
  let node: SwarmNode;
  let lookups = 0;

  before(async () => {
    node = await startNode({
      extensions: [new YjsExtension()],
      backend: (config) => {
        // The memory backend, counting how often a frame's states are checked against its store.
        const backend = new MemoryBackend(config.nodeId);
        const of = backend.awareness.of.bind(backend.awareness);
        backend.awareness.of = (room, clients) => {
          lookups++;
          return of(room, clients);
        };
        return backend;
      },
    });
  });
  after(async () => {
    destroyAll();
    await node.close();
  });

  it('drops the states every y-websocket client sends back without reading the store for each', async () => {
    const count = 20;
    const clients: Provider[] = [];
    for (let i = 0; i < count; i++) {
      const p = await synced(provider(node, 'relays'));
      p.awareness.setLocalStateField('name', `u${i}`);
      clients.push(p);
    }
    await waitFor(
      () => clients.every((p) => p.awareness.getStates().size === count),
      'every client to see every other',
      15_000,
    );
    // Each client's state reaches the other 19, and each of them sends it back: ~20 × 20
    // relays. Only a client's own news (and a state first seen) may cost a store read.
    assert.ok(lookups < count * 4, `${lookups} store reads for ${count} clients`);
  });
});
