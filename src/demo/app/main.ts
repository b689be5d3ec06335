import './style.css';
import { connect } from '../../client';
import type { EventFrame } from '../../core/protocol/wire';
import { SharedEditor } from './editor';
import { NAME_KEY, RoomModel } from './room-model';
import { readSettings } from './settings';
import { View } from './view';

/**
 * The demo page: a shared editor over `WS /yjs/<room>`, and chat plus members over
 * `WS /events` through the client library, both on the same node. The JSON client leads:
 * when its node goes away it reconnects to the next node of the list, and the editor
 * follows it there.
 */
const settings = readSettings(location);
const model = new RoomModel();
const view = new View(document, settings.room, settings.name);
let name = settings.name;

const editor = new SharedEditor(settings, view.editorParent, settings.nodes[0]!, (status) =>
  view.setDocStatus(status),
);

const client = connect({
  urls: settings.nodes.map((node) => `${settings.scheme}//${node}/events`),
  token: settings.token,
  // The first retry a little later than the library's default: a page is one client of many.
  backoff: { initialMs: 200, maxMs: 5000 },
});
// The first join asks for the history from offset 0, so that a new page shows the recent chat.
const room = client.join(settings.room, { since: 0 });

/** This page's connection id on its current node, once welcomed. */
function me(): string | undefined {
  return client.state.status === 'open' ? client.state.welcome.conn : undefined;
}

client.onState((state) => {
  if (state.status === 'reconnecting' || state.status === 'connecting') view.setStatus('disconnected');
  if (state.status === 'closed' && !state.byApp) {
    view.setStatus('refused', undefined, state.reason);
    editor.stop();
  }
});

let joined = false;
room.onChange(() => {
  if (room.status === 'failed') {
    // The token does not grant this room: nothing will change that, so stop both sockets.
    view.setStatus('refused', undefined, room.error?.message);
    editor.stop();
    client.close();
    return;
  }
  const nowJoined = room.status === 'joined';
  if (nowJoined && !joined) rejoined();
  joined = nowJoined;
});

/** A new connection is in the room: its members and state are the room now. */
function rejoined(): void {
  if (client.state.status !== 'open') return;
  const { url, welcome } = client.state;
  model.reset(room);
  view.setStatus('connected', welcome.node);
  editor.moveTo(new URL(url).host);
  announceName();
  cleanUpNames();
  view.render(model, me());
}

room.onReset((reset) => {
  model.reset(reset);
  view.render(model, me());
});

for (const type of [
  'chat.message',
  'room.member.joined',
  'room.member.left',
  'room.state.changed',
] as const) {
  room.on(type, (data, meta) => {
    const frame: EventFrame = { type, room: meta.room, data, from: meta.from, offset: meta.offset };
    model.apply(frame, meta.replayed);
    if (type === 'room.member.left' && !meta.replayed) cleanUpNames();
    view.render(model, me());
  });
}

view.onChat(async (text) => {
  // Sent while between nodes, it waits in the client's queue and goes after the rejoin.
  await room.emit('chat.message', { text });
});

view.onRename((newName) => {
  name = newName;
  editor.setName(name);
  announceName();
});

/** Tells the room this connection's display name (room state, so late joiners get it too). */
function announceName(): void {
  const conn = me();
  if (!conn || room.status !== 'joined') return;
  room.setState(NAME_KEY + conn, name, { offline: 'reject' }).catch(() => {});
}

function cleanUpNames(): void {
  const conn = me();
  if (!conn) return;
  for (const key of model.staleNames(conn)) room.setState(key, null, { offline: 'reject' }).catch(() => {});
}
