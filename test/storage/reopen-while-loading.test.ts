import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { StoredRoom } from '../../src/backend/storage/document-store';
import { Y } from '../../src/modules/yjs/esm';
import type { SwarmNode } from '../../src/node';
import { StorageTestbed } from '../helpers/storage-nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from '../yjs/yjs-helpers';

/** Bytes received by the node's sockets and not yet handled (the flow-control backlog). */
async function backlogBytes(node: SwarmNode): Promise<number> {
  const metric = await node.metrics.registry.getSingleMetric('swarmcast_flow_backlog_bytes')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('a cold room reopened while its write-back into Redis runs', () => {
  let testbed: StorageTestbed;
  before(async () => {
    testbed = await StorageTestbed.start();
  });
  afterEach(async () => {
    destroyAll();
    await testbed.stopNodes();
  });

  /** One node whose room `room` holds an edit that is in PostgreSQL, and nothing of it left in Redis. */
  async function coldRoom(room: string) {
    const env = { PERSIST_DELAY_MS: '30', ROOM_IDLE_MS: '300' };
    const { nodes, yjs, prefix } = await testbed.nodes(1, { env });
    const node = nodes[0]!;
    const editor = await synced(provider(node, room));
    editor.doc.getText('t').insert(0, 'loaded from PostgreSQL');
    const check = await synced(provider(node, room));
    await waitFor(
      () => check.doc.getText('t').toString() === 'loaded from PostgreSQL',
      'the edit on the server',
    );
    destroyAll();
    const redis = testbed.redis.client();
    try {
      await waitFor(
        async () => (await redis.keys(`${prefix}:room:{${room}}*`)).length === 0,
        'the room out of Redis',
        10_000,
      );
    } finally {
      redis.disconnect();
    }
    return { node, yjs, prefix };
  }
  after(async () => {
    await testbed?.close();
  });

  it('syncs the joiner from the loaded document, holds its edit until the room is in Redis, and converges', async () => {
    const { node, prefix } = await coldRoom('reopen');
    const redis = testbed.redis.client();
    try {
      const keys = () => redis.keys(`${prefix}:room:{reopen}*`);

      // The write-back into Redis waits until the test lets it go.
      const restore = node.backend.restore;
      const writeBack = restore.restore.bind(restore);
      let letGo: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        letGo = resolve;
      });
      let writing = false;
      let written = false;
      restore.restore = async (room: string, stored: StoredRoom | undefined, streams: readonly string[]) => {
        writing = true;
        await held;
        const wrote = await writeBack(room, stored, streams);
        written = true;
        return wrote;
      };

      const joiner = provider(node, 'reopen');
      // One socket throughout: a joiner whose edit were refused would be closed, reconnect
      // and send it again, converging anyway.
      const closes: number[] = [];
      joiner.on('connection-close', (event: { code: number } | null) => closes.push(event?.code ?? 0));
      await waitFor(
        () => joiner.synced && joiner.doc.getText('t').toString() === 'loaded from PostgreSQL',
        'the joiner synced from the loaded document',
      );
      assert.ok(writing && !written, 'the joiner was answered while the write-back was held');

      joiner.doc.getText('t').insert(22, ' and edited');
      await waitFor(async () => (await backlogBytes(node)) > 0, 'the edit received by the node, waiting');
      assert.ok(!written);
      assert.deepEqual(
        (await keys()).filter((key) => key.includes(':yjs')),
        [],
        'nothing appended before the room is in Redis',
      );

      letGo();
      await waitFor(() => written, 'the write-back done');
      await waitFor(async () => (await backlogBytes(node)) === 0, 'the edit handled');
      const fresh = await synced(provider(node, 'reopen'));
      await waitFor(
        () => fresh.doc.getText('t').toString() === 'loaded from PostgreSQL and edited',
        'a fresh provider holding the loaded document and the edit',
      );
      await waitFor(
        () => joiner.doc.getText('t').toString() === 'loaded from PostgreSQL and edited',
        'the joiner still holding both',
      );
      assert.deepEqual(closes, [], 'the joiner kept its socket');
    } finally {
      redis.disconnect();
    }
  });

  it('sends the joiner the document again when the room moved past the loaded document before it entered', async () => {
    const { node, yjs } = await coldRoom('moved');
    // Right after the write-back, before the joiner's entry reads where the room stands,
    // server code appends an update: the loaded document no longer is the whole room.
    const restore = node.backend.restore;
    const writeBack = restore.restore.bind(restore);
    const server = new Y.Doc();
    server.getMap('m').set('k', 'from the server');
    let appended = false;
    restore.restore = async (room: string, stored: StoredRoom | undefined, streams: readonly string[]) => {
      const wrote = await writeBack(room, stored, streams);
      await yjs[0]!.applyUpdate(room, Y.encodeStateAsUpdate(server));
      appended = true;
      return wrote;
    };
    const joiner = provider(node, 'moved');
    await waitFor(
      () => joiner.doc.getMap('m').get('k') === 'from the server',
      'the joiner holding the update appended before it entered',
    );
    assert.ok(appended);
    assert.equal(joiner.doc.getText('t').toString(), 'loaded from PostgreSQL');
    server.destroy();
  });
});
