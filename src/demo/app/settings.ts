/** What the page reads from its URL, so that a shared link opens the same room. */
export interface Settings {
  /** `?room=` or the `#fragment`; `lobby` when neither is there. */
  readonly room: string;
  /** `?name=`, else a random one ("Quiet Otter"). */
  readonly name: string;
  /**
   * The nodes to connect to, as `host:port`: `?nodes=a:8080,b:8081`, else the host that
   * served the page. With a load balancer in front, that one host is enough; without
   * one, the list is what lets the page move to another node when its node goes away.
   */
  readonly nodes: readonly string[];
  /** `?token=`: passed on to both sockets when the server requires auth. */
  readonly token: string | undefined;
  /** `ws:` or `wss:`, following the page's own scheme. */
  readonly scheme: 'ws:' | 'wss:';
}

const ADJECTIVES = ['Quiet', 'Swift', 'Brave', 'Clever', 'Sunny', 'Lucky', 'Gentle', 'Bold', 'Calm', 'Merry'];
const ANIMALS = ['Otter', 'Heron', 'Fox', 'Lynx', 'Panda', 'Badger', 'Falcon', 'Koala', 'Walrus', 'Wren'];

/** Room names are at most 200 characters on the server (MAX_ROOM_NAME). */
const MAX_ROOM = 200;
const MAX_NAME = 40;

export function readSettings(location: Location): Settings {
  const query = new URLSearchParams(location.search);
  const fragment = decodeFragment(location.hash.replace(/^#/, ''));
  const room = (query.get('room') || fragment || 'lobby').slice(0, MAX_ROOM);
  const name = (query.get('name')?.trim() || randomName()).slice(0, MAX_NAME);
  const listed = (query.get('nodes') ?? '')
    .split(',')
    .map((node) => node.trim())
    .filter((node) => node.length > 0);
  return {
    room,
    name,
    nodes: listed.length > 0 ? listed : [location.host],
    token: query.get('token') ?? undefined,
    scheme: location.protocol === 'https:' ? 'wss:' : 'ws:',
  };
}

/** A hand-typed `#50%` is not valid percent-encoding; take it as it is rather than fail. */
function decodeFragment(fragment: string): string {
  try {
    return decodeURIComponent(fragment);
  } catch {
    return fragment;
  }
}

function randomName(): string {
  const pick = (list: readonly string[]) => list[Math.floor(Math.random() * list.length)];
  return `${pick(ADJECTIVES)} ${pick(ANIMALS)}`;
}

/** A stable colour per name, so a person's cursor and chat lines match on every screen. */
export function colorFor(name: string): { color: string; light: string } {
  // FNV-1a: short names that differ in one letter still land far apart on the colour wheel.
  let hash = 0x811c9dc5;
  for (const char of name) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193) >>> 0;
  const hue = hash % 360;
  return { color: `hsl(${hue} 70% 42%)`, light: `hsl(${hue} 70% 42% / 0.2)` };
}
