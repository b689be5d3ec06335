import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { bundleDemo } from '../../src/demo/bundle';
import { packageRoot } from '../../src/demo/paths';
import { uniquePrefix } from '../helpers/nodes';
import { type NodeProcess, spawnNode } from '../helpers/process';
import { TestRedis } from '../helpers/redis';
import { waitFor, within } from '../helpers/wait';
import { DemoPage, launchChromium, sideBySide, UI_TIMEOUT_MS } from './browser';

/** Where the side-by-side screenshot goes; `DEMO_SCREENSHOT=docs/img/demo.png` refreshes the README's. */
const SCREENSHOT = path.resolve(packageRoot(), process.env.DEMO_SCREENSHOT ?? '.test-artifacts/demo.png');

/**
 * Two real node processes (`node dist/src/main.js`, as `npm start` runs them, with the
 * default extensions) on a private redis-server, and two people in Chromium.
 */
describe('the demo page, one person on each of two nodes', () => {
  const room = uniquePrefix('demo');
  let redis: TestRedis;
  const nodes: NodeProcess[] = [];
  let browser: Browser;
  let ada: DemoPage;
  let grace: DemoPage;

  /** Each page knows both nodes, its own first, so it can move to the other one. */
  const pageUrl = (home: NodeProcess, other: NodeProcess, name: string) =>
    `http://127.0.0.1:${home.port}/?room=${room}&name=${name}` +
    `&nodes=127.0.0.1:${home.port},127.0.0.1:${other.port}`;

  before(async () => {
    // The nodes serve dist/demo; build it here too so that this file also runs after a bare tsc.
    await bundleDemo();
    redis = await TestRedis.start();
    const env = { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix('e2e') };
    // One at a time into `nodes`, so that `after` stops whatever did start.
    nodes.push(await spawnNode({ ...env, NODE_ID: uniquePrefix('one') }));
    nodes.push(await spawnNode({ ...env, NODE_ID: uniquePrefix('two') }));
    browser = await launchChromium();
    ada = await DemoPage.open(browser, pageUrl(nodes[0], nodes[1], 'Ada'));
    grace = await DemoPage.open(browser, pageUrl(nodes[1], nodes[0], 'Grace'));
  });

  after(async () => {
    await browser?.close();
    for (const node of nodes) node.kill('SIGKILL');
    await redis?.close();
  });

  it('shows in each page the node that serves it, connected', async () => {
    await ada.connectedTo(nodes[0].id);
    await grace.connectedTo(nodes[1].id);
  });

  it("lists the other person's name in each page's member list", async () => {
    await ada.listsMember('Grace');
    await grace.listsMember('Ada');
    assert.deepEqual((await ada.memberNames()).sort(), ['Ada', 'Grace']);
    assert.deepEqual((await grace.memberNames()).sort(), ['Ada', 'Grace']);
  });

  it('delivers a chat message sent in one page to the other', async () => {
    await ada.sendChat('Hello from node one');
    await grace.chatHas('Ada', 'Hello from node one');
    await grace.sendChat('Hi Ada, node two here');
    await ada.chatHas('Grace', 'Hi Ada, node two here');
  });

  it('shares the text typed in one page with the other, with a cursor labelled by name', async () => {
    await ada.docSynced();
    await grace.docSynced();
    await ada.typeAtEnd('Ada writes on node one. ');
    await grace.editorHas('Ada writes on node one. ');
    await grace.typeAtEnd('Grace answers from node two.');
    await ada.editorHas('Ada writes on node one. Grace answers from node two.');
    await ada.showsCursorOf('Grace');
    await grace.showsCursorOf('Ada');
  });

  it('saves a screenshot of both pages side by side', async () => {
    const png = await sideBySide(
      browser,
      [await ada.screenshot(), await grace.screenshot()],
      [`Ada, served by ${nodes[0].id}`, `Grace, served by ${nodes[1].id}`],
    );
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    writeFileSync(SCREENSHOT, png);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
  });

  it('moves a page to the other node when its node stops: its edits keep arriving, no chat line is lost', async () => {
    nodes[0].kill('SIGTERM');
    // Sent while Ada's page is between nodes: it gets it live or from the room's history.
    await grace.sendChat('Did you see the node go?');
    assert.equal((await within(nodes[0].exited, 'node one to exit', 15_000)).code, 0);
    await ada.connectedTo(nodes[1].id);
    await ada.docSynced();
    await ada.typeAtEnd(' Ada again, now through node two.');
    await grace.editorHas('Grace answers from node two. Ada again, now through node two.');
    await ada.chatHas('Grace', 'Did you see the node go?');
    await ada.sendChat('Still here, now on node two');
    await grace.chatHas('Ada', 'Still here, now on node two');
    // Ada's old connection left with its node, the new one joined: one Ada on each page.
    for (const page of [ada, grace]) {
      await waitFor(
        async () => (await page.memberNames()).sort().join() === 'Ada,Grace',
        'exactly Ada and Grace in the member list',
        UI_TIMEOUT_MS,
      );
    }
    assert.deepEqual(ada.errors, []);
    assert.deepEqual(grace.errors, []);
  });
});
