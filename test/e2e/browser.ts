import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); playwright-core never downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, and quiet: no first-run work, no network besides the pages' own sockets. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Generous: two cores are shared by everything else running on the machine. */
export const UI_TIMEOUT_MS = 20_000;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
}

/**
 * One person's tab on the demo page, in its own browser context (no shared storage, no
 * BroadcastChannel between the two people). Reads what the page shows, as a person would.
 */
export class DemoPage {
  readonly errors: string[] = [];
  /** Every WebSocket URL the page opened, in order. */
  readonly sockets: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('pageerror', (err) => this.errors.push(err.message));
    page.on('websocket', (socket) => this.sockets.push(socket.url()));
  }

  static async open(browser: Browser, url: string): Promise<DemoPage> {
    const context = await browser.newContext({ viewport: { width: 960, height: 600 } });
    const page = await context.newPage();
    const demo = new DemoPage(context, page);
    await page.goto(url);
    return demo;
  }

  /** Waits until `locator` matches an element; fails with `what` after the deadline. */
  async until(what: string, locator: Locator): Promise<void> {
    try {
      await locator.first().waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS });
    } catch (err) {
      const badge = await this.page
        .locator('#badge')
        .textContent({ timeout: 1000 })
        .catch(() => '?');
      throw new Error(
        `timed out waiting for ${what} (badge: ${badge?.trim()}; page errors: ${this.errors.join('; ') || 'none'})`,
        { cause: err },
      );
    }
  }

  /** Connected on /events to the node with this id, as the badge says. */
  connectedTo(node: string): Promise<void> {
    return this.until(
      `the badge to show node ${node} connected`,
      this.page.locator(`#badge[data-status="connected"][data-node="${node}"]`),
    );
  }

  /** Told by the server that it may not join the room; the badge says so. */
  refused(): Promise<void> {
    return this.until(
      'the badge to say the room was refused',
      this.page.locator('#badge[data-status="refused"]'),
    );
  }

  /** The editor's document synced with the node over y-websocket. */
  docSynced(): Promise<void> {
    return this.until('the document to be synced', this.page.locator('#badge[data-doc="synced"]'));
  }

  async typeAtEnd(text: string): Promise<void> {
    await this.page.click('.cm-content');
    await this.page.keyboard.press('Control+End');
    await this.page.keyboard.type(text);
  }

  editorHas(text: string): Promise<void> {
    return this.until(
      `the editor to contain ${JSON.stringify(text)}`,
      this.page.locator('.cm-content', { hasText: text }),
    );
  }

  /** Another person's cursor, labelled with their name (Yjs awareness). */
  showsCursorOf(name: string): Promise<void> {
    return this.until(
      `a remote cursor labelled ${name}`,
      this.page.locator('.cm-ySelectionInfo', { hasText: exactly(name) }),
    );
  }

  async sendChat(text: string): Promise<void> {
    await this.page.fill('#chat-input', text);
    await this.page.press('#chat-input', 'Enter');
  }

  chatHas(name: string, text: string): Promise<void> {
    const line = this.page
      .locator('#chat .line')
      .filter({ has: this.page.locator('.who', { hasText: exactly(name) }) })
      .filter({ has: this.page.locator('.text', { hasText: exactly(text) }) });
    return this.until(`a chat line "${name}: ${text}"`, line);
  }

  listsMember(name: string): Promise<void> {
    return this.until(
      `${name} in the member list`,
      this.page.locator('#members .name', { hasText: exactly(name) }),
    );
  }

  memberNames(): Promise<string[]> {
    return this.page.locator('#members .name').allTextContents();
  }

  screenshot(): Promise<Buffer> {
    return this.page.screenshot();
  }

  close(): Promise<void> {
    return this.context.close();
  }
}

/** Puts screenshots side by side in one PNG, drawn by the browser itself (no image library). */
export async function sideBySide(browser: Browser, shots: readonly Buffer[], captions: readonly string[]) {
  const context = await browser.newContext({ viewport: { width: 400, height: 300 } });
  try {
    const page = await context.newPage();
    const figures = shots
      .map(
        (shot, i) =>
          `<figure><img src="data:image/png;base64,${shot.toString('base64')}"><figcaption>${captions[i]}</figcaption></figure>`,
      )
      .join('');
    await page.setContent(
      `<style>
        body { margin: 0; padding: 12px; background: #c9ced8; display: inline-flex; gap: 12px;
               font: 14px system-ui, sans-serif; }
        figure { margin: 0; } img { display: block; border-radius: 6px; box-shadow: 0 1px 4px #0004; }
        figcaption { text-align: center; padding-top: 6px; color: #1d2430; }
      </style>${figures}`,
    );
    return await page.locator('body').screenshot();
  } finally {
    await context.close();
  }
}

/** Matches an element whose whole text is `text`. */
function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}
