import './style.css';
import { SharedEditor } from './editor';
import { EventSocket } from './event-socket';
import type { Welcome } from './protocol';
import { NAME_KEY, RoomModel } from './room-model';
import { readSettings } from './settings';
import { View } from './view';

/**
 * The demo page: a shared editor over `WS /yjs/<room>`, and chat plus members over
 * `WS /events`, both on the same node. The JSON socket leads: when its node goes away it
 * reconnects to the next node of the list, and the editor follows it there.
 */
const settings = readSettings(location);
const model = new RoomModel();
const view = new View(document, settings.room, settings.name);
let name = settings.name;
let me: Welcome | undefined;

const editor = new SharedEditor(settings, view.editorParent, settings.nodes[0], (status) =>
  view.setDocStatus(status),
);

const socket = new EventSocket(settings, {
  status(status, _address, reason) {
    view.setStatus(status, undefined, reason);
    if (status === 'refused') editor.stop();
  },
  joined(welcome, answer, address) {
    me = welcome;
    model.reset(answer);
    view.setStatus('connected', welcome.node);
    editor.moveTo(address);
    announceName();
    cleanUpNames();
    view.render(model, me.conn);
  },
  event(frame, replayed) {
    model.apply(frame, replayed);
    if (frame.type === 'room.member.left' && !replayed) cleanUpNames();
    view.render(model, me?.conn);
  },
});

view.onChat(async (text) => {
  await socket.send('chat.message', { text });
});

view.onRename((newName) => {
  name = newName;
  editor.setName(name);
  announceName();
});

/** Tells the room this connection's display name (room state, so late joiners get it too). */
function announceName(): void {
  if (!me || !socket.isJoined) return;
  socket.send('room.state.set', { key: NAME_KEY + me.conn, value: name }).catch(() => {});
}

function cleanUpNames(): void {
  if (!me) return;
  for (const key of model.staleNames(me.conn)) {
    socket.send('room.state.set', { key, value: null }).catch(() => {});
  }
}

socket.start();
