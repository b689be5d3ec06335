import type { DocStatus } from './editor';
import type { RoomModel } from './room-model';
import { colorFor } from './settings';

/** `refused`: the server will not let this page into the room; retrying would not change that. */
export type SocketStatus = 'connecting' | 'connected' | 'disconnected' | 'refused';

const STATUS_TEXT: Record<SocketStatus, string> = {
  connecting: 'connecting…',
  connected: 'connected',
  disconnected: 'reconnecting…',
  refused: 'refused',
};

/** The page's DOM (index.html): everything is set with textContent, never parsed as HTML. */
export class View {
  readonly editorParent: HTMLElement;
  readonly nameInput: HTMLInputElement;
  private readonly badge: HTMLElement;
  private readonly badgeText: HTMLElement;
  private readonly members: HTMLElement;
  private readonly count: HTMLElement;
  private readonly chat: HTMLElement;
  private readonly chatForm: HTMLFormElement;
  private readonly chatInput: HTMLInputElement;
  private node = '';
  private status: SocketStatus = 'connecting';
  private docStatus: DocStatus = 'connecting';
  private reason = '';

  constructor(
    private readonly document: Document,
    room: string,
    name: string,
  ) {
    this.editorParent = this.find('editor');
    this.nameInput = this.find('name') as HTMLInputElement;
    this.badge = this.find('badge');
    this.badgeText = this.find('badge-text');
    this.members = this.find('members');
    this.count = this.find('count');
    this.chat = this.find('chat');
    this.chatForm = this.find('chat-form') as HTMLFormElement;
    this.chatInput = this.find('chat-input') as HTMLInputElement;
    this.find('room').textContent = room;
    this.nameInput.value = name;
    document.title = `${room} · swarmcast demo`;
    this.find('share').addEventListener('click', () => {
      const link = new URL(location.href);
      link.search = '';
      link.hash = encodeURIComponent(room);
      void navigator.clipboard?.writeText(link.toString());
    });
  }

  /** Calls `send` with the typed line; the input is cleared only once the server accepted it. */
  onChat(send: (text: string) => Promise<void>): void {
    this.chatForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = this.chatInput.value.trim();
      if (!text) return;
      send(text).then(
        () => {
          if (this.chatInput.value.trim() === text) this.chatInput.value = '';
          this.chatInput.classList.remove('failed');
        },
        () => this.chatInput.classList.add('failed'),
      );
    });
  }

  onRename(rename: (name: string) => void): void {
    this.nameInput.addEventListener('change', () => {
      const name = this.nameInput.value.trim();
      if (name) rename(name);
    });
  }

  setStatus(status: SocketStatus, node?: string, reason?: string): void {
    this.status = status;
    if (node) this.node = node;
    this.reason = reason ?? '';
    this.renderBadge();
  }

  setDocStatus(status: DocStatus): void {
    this.docStatus = status;
    this.renderBadge();
  }

  render(model: RoomModel, me: string | undefined): void {
    const members = [...model.members.values()].sort((a, b) =>
      model.nameOf(a.conn, a.user).localeCompare(model.nameOf(b.conn, b.user)),
    );
    this.count.textContent = `(${members.length})`;
    this.members.replaceChildren(
      ...members.map((member) => {
        const name = model.nameOf(member.conn, member.user);
        const item = this.element('li', 'member');
        item.dataset.conn = member.conn;
        item.append(this.swatch(name), this.element('span', 'name', name));
        if (member.conn === me) item.append(this.element('span', 'you', '(you)'));
        item.append(this.element('span', 'node', `on ${member.node}`));
        return item;
      }),
    );
    const atBottom = this.chat.scrollHeight - this.chat.scrollTop - this.chat.clientHeight < 20;
    // The chat only grows: append the new lines, so the live region announces only those.
    this.chat.append(
      ...model.chat.slice(this.chat.childElementCount).map((line) => {
        const item = this.element('li', 'line');
        if (line.offset !== undefined) item.dataset.offset = String(line.offset);
        const who = this.element('span', 'who', line.name);
        who.style.color = colorFor(line.name).color;
        const when = this.element('time', 'at', new Date(line.at).toLocaleTimeString());
        item.append(who, this.element('span', 'text', line.text), when);
        if (line.conn === me) item.classList.add('mine');
        return item;
      }),
    );
    if (atBottom) this.chat.scrollTop = this.chat.scrollHeight;
  }

  private renderBadge(): void {
    const { badge } = this;
    badge.dataset.status = this.status;
    badge.dataset.node = this.node;
    badge.dataset.doc = this.docStatus;
    this.chatForm.classList.toggle('offline', this.status !== 'connected');
    if (this.status === 'refused') {
      this.badgeText.textContent = `not allowed in this room: ${this.reason}`;
      return;
    }
    const where = this.node ? `node ${this.node}` : 'no node yet';
    const doc = this.docStatus === 'synced' ? 'document synced' : `document ${this.docStatus}`;
    const state = STATUS_TEXT[this.status];
    this.badgeText.textContent = `${where} · ${state} · ${doc}`;
  }

  private swatch(name: string): HTMLElement {
    const dot = this.element('span', 'swatch');
    dot.style.background = colorFor(name).color;
    return dot;
  }

  private element(tag: string, className: string, text?: string): HTMLElement {
    const element = this.document.createElement(tag);
    element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  }

  private find(id: string): HTMLElement {
    const element = this.document.getElementById(id);
    if (!element) throw new Error(`index.html has no #${id}`);
    return element;
  }
}
