import { waitFor } from '../helpers/wait';
import { type Provider, provider, synced } from '../yjs/yjs-helpers';

/** How often an editor changes its document: a steady trickle of small updates. */
const EDIT_EVERY_MS = 25;

/**
 * An unmodified y-websocket provider that keeps editing: every few milliseconds it
 * sets one new key of the shared map `edits`, connected or not (y-websocket sends what
 * it made offline when it syncs again). It counts its connections.
 */
export class Editor {
  connects = 0;
  private made = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly name: string,
    readonly provider: Provider,
  ) {
    provider.on('status', ({ status }: { status: string }) => {
      if (status === 'connected') this.connects++;
    });
  }

  static async start(port: number, room: string, name: string): Promise<Editor> {
    const editor = new Editor(name, provider(port, room));
    await synced(editor.provider, 10_000);
    return editor;
  }

  get edits(): Map<string, unknown> {
    return new Map(Object.entries(this.provider.doc.getMap('edits').toJSON()));
  }

  startEditing(): void {
    this.timer = setInterval(() => {
      this.provider.doc.getMap('edits').set(`${this.name}:${this.made}`, this.made);
      this.made++;
    }, EDIT_EVERY_MS);
  }

  /** Stops editing; resolves with how many edits this editor made. */
  stopEditing(): number {
    clearInterval(this.timer);
    return this.made;
  }
}

/**
 * Stops every editor and checks that all their documents converge on every edit any of
 * them made, then that a new provider gets exactly that document from the server alone
 * (the editors are gone by then): no Yjs update was lost on the server.
 */
export async function assertDocumentsConverge(
  editors: Editor[],
  port: number,
  room: string,
): Promise<number> {
  const total = editors.reduce((sum, editor) => sum + editor.stopEditing(), 0);
  await waitFor(
    () => editors.every((e) => e.provider.synced && e.edits.size === total),
    `every editor to hold all ${total} edits`,
    20_000,
  );
  const reference = JSON.stringify([...editors[0]!.edits].sort());
  for (const editor of editors) {
    if (JSON.stringify([...editor.edits].sort()) !== reference) throw new Error(`${editor.name} diverged`);
  }
  for (const editor of editors) editor.provider.destroy();
  const fresh = await synced(provider(port, room), 10_000);
  await waitFor(
    () => fresh.doc.getMap('edits').size === total,
    `a new provider to load all ${total} edits`,
    10_000,
  );
  if (JSON.stringify(Object.entries(fresh.doc.getMap('edits').toJSON()).sort()) !== reference) {
    throw new Error('the stored document differs from the editors’');
  }
  fresh.destroy();
  return total;
}
