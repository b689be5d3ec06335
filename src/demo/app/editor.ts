import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { yCollab } from 'y-codemirror.next';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { colorFor, type Settings } from './settings';

export type DocStatus = 'connecting' | 'connected' | 'synced' | 'disconnected';

/**
 * The shared text: CodeMirror 6 bound to a Y.Text, synced by an unmodified y-websocket
 * provider on `WS /yjs/<room>`. Remote cursors and their names come from Yjs awareness.
 */
export class SharedEditor {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly view: EditorView;

  constructor(
    private readonly settings: Settings,
    parent: HTMLElement,
    address: string,
    onStatus: (status: DocStatus) => void,
  ) {
    const text = this.doc.getText('codemirror');
    this.provider = new WebsocketProvider(
      this.serverUrl(address),
      encodeURIComponent(settings.room),
      this.doc,
      {
        params: settings.token ? { token: settings.token } : {},
        // Tabs of one browser would otherwise sync among themselves with no server at all,
        // which is not what a demo of the server should show.
        disableBc: true,
      },
    );
    this.setName(settings.name);
    this.provider.on('status', ({ status }) => onStatus(status));
    this.provider.on('sync', (synced) => {
      if (synced) onStatus('synced');
    });
    this.view = new EditorView({
      parent,
      doc: text.toString(),
      extensions: [basicSetup, EditorView.lineWrapping, yCollab(text, this.provider.awareness)],
    });
  }

  /** Shown on the other pages next to this page's cursor. */
  setName(name: string): void {
    const { color, light } = colorFor(name);
    this.provider.awareness.setLocalStateField('user', { name, color, colorLight: light });
  }

  /**
   * Follows the JSON socket to another node. y-websocket reconnects by itself, but only to
   * the URL it was given; pointing it at the node the page now uses moves it there.
   */
  moveTo(address: string): void {
    const url = this.serverUrl(address);
    if (this.provider.serverUrl === url) return;
    this.provider.serverUrl = url;
    if (this.provider.wsconnected || this.provider.wsconnecting) {
      this.provider.disconnect();
      this.provider.connect();
    }
  }

  /** Stops syncing (the page was refused the room); the text stays as it is. */
  stop(): void {
    this.provider.disconnect();
  }

  private serverUrl(address: string): string {
    return `${this.settings.scheme}//${address}/yjs`;
  }
}
