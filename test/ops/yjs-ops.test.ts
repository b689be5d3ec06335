import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminExtension } from '../../src/modules/admin/admin-api';
import { metricsExtension } from '../../src/modules/metrics/metrics-extension';
import { YjsExtension } from '../../src/modules/yjs/yjs-extension';
import type { SwarmNode } from '../../src/node';
import { startNode } from '../helpers/nodes';
import { waitFor } from '../helpers/wait';
import { destroyAll, provider, synced } from '../yjs/yjs-helpers';
import { scrape } from './scrape';

const TOKEN = 'yjs-ops-admin-token-0123456789';

describe('Yjs figures in /metrics and the admin API', () => {
  let node: SwarmNode;
  let yjs: YjsExtension;
  /**
   * Edits `room` once per stored entry: update frames that queue up together are appended
   * as one merged entry, so each edit waits for its own before the next is made.
   */
  const editApart = async (room: string, edits: (() => void)[]) => {
    for (const edit of edits) {
      const { offset } = await yjs.inspect(room);
      edit();
      await waitFor(async () => (await yjs.inspect(room)).offset > offset, 'the edit stored');
    }
  };
  before(async () => {
    yjs = new YjsExtension();
    node = await startNode({
      env: { YJS_COMPACT_ENTRIES: '20' },
      extensions: [
        yjs,
        metricsExtension(),
        adminExtension(TOKEN, { inspectors: { yjs: (room) => yjs.inspect(room) } }),
      ],
    });
  });
  after(async () => {
    destroyAll();
    await node.close();
  });

  it('counts Yjs connections, log sizes and compactions as a document is edited', async () => {
    const before = await scrape(node.port);
    const editor = await synced(provider(node, 'ops-doc'));
    const text = editor.doc.getText('t');
    await editApart(
      'ops-doc',
      Array.from({ length: 45 }, (_, i) => () => text.insert(text.length, `${i} `)),
    );
    await waitFor(
      async () => (await scrape(node.port)).value('swarmcast_yjs_compactions_total', { result: 'ok' }) >= 2,
      'two compactions',
    );
    const after = await scrape(node.port);
    assert.equal(after.value('swarmcast_connections', { protocol: 'yjs' }), 1);
    const appended =
      after.value('swarmcast_yjs_log_updates_count') - before.value('swarmcast_yjs_log_updates_count');
    assert.ok(appended >= 45, `${appended} log sizes observed`);
    assert.ok(after.value('swarmcast_yjs_compacted_updates_total') >= 40);
    assert.ok(after.value('swarmcast_yjs_compaction_seconds_count') >= 2);
    assert.ok(after.value('swarmcast_events_in_total', { source: 'client', type: 'yjs.update' }) >= 45);
  });

  it('shows the Yjs log size of a room in the admin API', async () => {
    const editor = await synced(provider(node, 'ops-doc-2'));
    await editApart('ops-doc-2', [
      () => editor.doc.getText('t').insert(0, 'hello'),
      () => editor.doc.getText('t').insert(5, ' world'),
    ]);
    const res = await waitFor(async () => {
      const answer = await fetch(`http://127.0.0.1:${node.port}/api/rooms/ops-doc-2`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const body = (await answer.json()) as {
        yjs: { offset: number; logEntries: number; documentBytes: number };
      };
      return body.yjs.offset === 2 ? body : undefined;
    }, 'both updates stored');
    assert.equal(res.yjs.logEntries, 2);
    assert.ok(res.yjs.documentBytes > 'hello world'.length);
  });
});
