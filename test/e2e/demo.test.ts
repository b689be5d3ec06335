import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { bundleDemo } from '../../src/demo/bundle';
import { demoExtension } from '../../src/demo/demo-extension';
import { packageRoot } from '../../src/demo/paths';
import type { SwarmNode } from '../../src/node';
import { startNodes, uniquePrefix } from '../helpers/nodes';
import { DemoPage, launchChromium, sideBySide } from './browser';

/** Where the side-by-side screenshot goes; `DEMO_SCREENSHOT=docs/img/demo.png` refreshes the README's. */
const SCREENSHOT = path.resolve(packageRoot(), process.env.DEMO_SCREENSHOT ?? '.test-artifacts/demo.png');

describe('the demo page, one person on each of two nodes', () => {
  const room = uniquePrefix('demo');
  let nodes: SwarmNode[] = [];
  let browser: Browser;
  let ada: DemoPage;
  let grace: DemoPage;

  /** Each page knows both nodes, its own first, so it can move to the other one. */
  const pageUrl = (home: SwarmNode, other: SwarmNode, name: string) =>
    `http://127.0.0.1:${home.port}/?room=${room}&name=${name}` +
    `&nodes=127.0.0.1:${home.port},127.0.0.1:${other.port}`;

  before(async () => {
    const { outDir } = await bundleDemo();
    nodes = await startNodes(2, { extensions: [demoExtension({ dir: outDir })] });
    browser = await launchChromium();
    ada = await DemoPage.open(browser, pageUrl(nodes[0], nodes[1], 'Ada'));
    grace = await DemoPage.open(browser, pageUrl(nodes[1], nodes[0], 'Grace'));
  });

  after(async () => {
    await browser?.close();
    await Promise.all(nodes.map((node) => node.close()));
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

  it('moves a page to the other node when its node stops, and its messages keep arriving', async () => {
    await nodes[0].drain();
    await ada.connectedTo(nodes[1].id);
    await ada.sendChat('Still here, now on node two');
    await grace.chatHas('Ada', 'Still here, now on node two');
    // The old connection left and the new one joined: still exactly one Ada.
    await ada.listsMember('Grace');
    assert.deepEqual(ada.errors, []);
    assert.deepEqual(grace.errors, []);
  });
});
