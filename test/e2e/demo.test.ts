import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
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
 * default extensions) on a private redis-server, and two people in Chromium: Ada's page
 * served by node one, Grace's by node two. Each page knows both nodes, its own first, so
 * it can move to the other one.
 */
class DemoCluster {
  readonly room = uniquePrefix('demo');
  redis: TestRedis | undefined;
  readonly nodes: NodeProcess[] = [];
  browser: Browser | undefined;
  ada!: DemoPage;
  grace!: DemoPage;

  async start(env: Record<string, string> = {}): Promise<void> {
    // The nodes serve dist/demo; build it here too so that this file also runs after a bare tsc.
    await bundleDemo();
    this.redis = await TestRedis.start();
    const common = { REDIS_URL: this.redis.url, KEY_PREFIX: uniquePrefix('e2e'), ...env };
    // One at a time into `nodes`, so that `stop` ends whatever did start.
    this.nodes.push(await spawnNode({ ...common, NODE_ID: uniquePrefix('one') }));
    this.nodes.push(await spawnNode({ ...common, NODE_ID: uniquePrefix('two') }));
    this.browser = await launchChromium();
    this.ada = await DemoPage.open(this.browser, this.pageUrl(0, 'Ada'));
    this.grace = await DemoPage.open(this.browser, this.pageUrl(1, 'Grace'));
  }

  private pageUrl(home: number, name: string): string {
    const [first, second] = home === 0 ? this.nodes : [...this.nodes].reverse();
    return (
      `http://127.0.0.1:${first.port}/?room=${this.room}&name=${name}` +
      `&nodes=127.0.0.1:${first.port},127.0.0.1:${second.port}`
    );
  }

  /** Until each page lists exactly Ada and Grace: no ghost of a connection that is gone. */
  async membersSettled(): Promise<void> {
    for (const page of [this.ada, this.grace]) {
      await waitFor(
        async () => (await page.memberNames()).sort().join() === 'Ada,Grace',
        'exactly Ada and Grace in the member list',
        UI_TIMEOUT_MS,
      );
    }
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    for (const node of this.nodes) node.kill('SIGKILL');
    await this.redis?.close();
  }
}

describe('the demo page, one person on each of two nodes', () => {
  const cluster = new DemoCluster();
  let nodes: NodeProcess[];
  let browser: Browser;
  let ada: DemoPage;
  let grace: DemoPage;

  before(async () => {
    await cluster.start();
    ({ nodes, ada, grace } = cluster);
    browser = cluster.browser!;
  });

  after(() => cluster.stop());

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

  it('moves a page to the other node when its node stops: its edits keep arriving, no chat line is lost', async (t) => {
    const stoppedAt = Date.now();
    nodes[0].kill('SIGTERM');
    // Sent while Ada's page is between nodes: it gets it live or from the room's history.
    await grace.sendChat('Did you see the node go?');
    assert.equal((await within(nodes[0].exited, 'node one to exit', 15_000)).code, 0);
    await ada.connectedTo(nodes[1].id);
    t.diagnostic(`page back in its room on node two ${Date.now() - stoppedAt} ms after SIGTERM`);
    await ada.docSynced();
    await ada.typeAtEnd(' Ada again, now through node two.');
    await grace.editorHas('Grace answers from node two. Ada again, now through node two.');
    await ada.chatHas('Grace', 'Did you see the node go?');
    await ada.sendChat('Still here, now on node two');
    await grace.chatHas('Ada', 'Still here, now on node two');
    // Ada's old connection left with its node, the new one joined: one Ada on each page.
    await cluster.membersSettled();
    assert.deepEqual(ada.errors, []);
    assert.deepEqual(grace.errors, []);
  });
});

describe('the demo page when the node of one page crashes', () => {
  const cluster = new DemoCluster();

  // A short heartbeat, so that the survivor notices the dead node (and removes its
  // members) within the test's deadlines rather than after the default 6 s.
  before(() => cluster.start({ HEARTBEAT_MS: '300', NODE_TTL_MS: '1200' }));
  after(() => cluster.stop());

  it('moves the page to the surviving node, keeps its edits and drops its old connection', async (t) => {
    const { ada, grace, nodes } = cluster;
    await ada.connectedTo(nodes[0].id);
    await ada.docSynced();
    await grace.docSynced();
    await ada.typeAtEnd('Before the crash. ');
    await grace.editorHas('Before the crash. ');
    const killedAt = Date.now();
    nodes[0].kill('SIGKILL');
    assert.equal((await within(nodes[0].exited, 'node one to die', 15_000)).signal, 'SIGKILL');
    // Typed right after the crash, most likely before the page has a node again: the
    // document keeps it and the provider sends it once it has synced with node two.
    await ada.typeAtEnd('Typed while reconnecting. ');
    await ada.connectedTo(nodes[1].id);
    t.diagnostic(`page back in its room on node two ${Date.now() - killedAt} ms after SIGKILL`);
    await grace.editorHas('Before the crash. Typed while reconnecting. ');
    await ada.sendChat('Back, through node two');
    await grace.chatHas('Ada', 'Back, through node two');
    await cluster.membersSettled();
    t.diagnostic(`dead connection gone from both member lists ${Date.now() - killedAt} ms after SIGKILL`);
  });
});

describe('the demo page on a node that requires a token', () => {
  const secret = 'demo-e2e-secret-that-is-at-least-32-bytes';
  let node: NodeProcess | undefined;
  let browser: Browser | undefined;

  const token = (rooms: Record<string, 'read' | 'write'>) =>
    new SignJWT({ rooms })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ada')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(secret));

  before(async () => {
    await bundleDemo();
    node = await spawnNode({ AUTH_JWT_SECRET: secret, NODE_ID: uniquePrefix('auth') });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    node?.kill('SIGKILL');
  });

  it("hands the page's ?token= to both sockets", async () => {
    const url = `http://127.0.0.1:${node!.port}/?room=team-1&name=Ada&token=${await token({ 'team-*': 'write' })}`;
    const page = await DemoPage.open(browser!, url);
    await page.connectedTo(node!.id);
    await page.docSynced();
    await page.sendChat('signed in');
    await page.chatHas('Ada', 'signed in');
  });

  it('says the room is not allowed, and stops retrying, when the token does not grant it', async () => {
    const url = `http://127.0.0.1:${node!.port}/?room=elsewhere&name=Ada&token=${await token({ 'team-*': 'write' })}`;
    const page = await DemoPage.open(browser!, url);
    await page.refused();
    assert.match((await page.page.locator('#badge').textContent()) ?? '', /not allowed in this room/);
    // A retry would open a new /events socket within 200 ms (the first backoff); watch for five times that.
    const opened = page.sockets.filter((url) => url.includes('/events')).length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(page.sockets.filter((url) => url.includes('/events')).length, opened);
  });
});
