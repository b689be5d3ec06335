import type { EventFrame, JoinAnswer, Member } from '../../core/protocol/wire';

/** Display names live in the room's key/value state under this prefix plus the connection id. */
export const NAME_KEY = 'name:';

export interface ChatLine {
  readonly offset: number | undefined;
  readonly conn: string | undefined;
  readonly name: string;
  readonly text: string;
  readonly at: number;
}

/**
 * What the page knows of its room from the JSON protocol: members, their display names
 * and the chat. No DOM here; the view renders it.
 */
export class RoomModel {
  readonly members = new Map<string, Member>();
  /** conn -> display name. Kept after a member leaves so its old chat lines keep their name. */
  readonly names = new Map<string, string>();
  readonly chat: ChatLine[] = [];
  /** The `name:` keys the room state holds now, to clean up those of members who left. */
  private readonly namedConns = new Set<string>();

  /** A (re)join or a reset: these members and state are the room as of its offset. */
  reset(answer: Pick<JoinAnswer, 'members' | 'state'>): void {
    this.members.clear();
    for (const member of answer.members) this.members.set(member.conn, member);
    this.namedConns.clear();
    for (const [key, value] of Object.entries(answer.state)) this.setName(key, value);
  }

  /**
   * Applies one room event. A replayed event (from before the join) only adds its chat
   * line: the join answer already holds the members and state it led to.
   */
  apply(frame: EventFrame, replayed: boolean): void {
    switch (frame.type) {
      case 'chat.message': {
        const data = frame.data as { text: string; at: number };
        const conn = frame.from?.conn;
        this.chat.push({
          offset: frame.offset,
          conn,
          name: this.nameOf(conn, frame.from?.user),
          text: data.text,
          at: data.at,
        });
        return;
      }
      case 'room.member.joined':
        if (!replayed) {
          const member = frame.data as Member;
          this.members.set(member.conn, member);
        }
        return;
      case 'room.member.left':
        if (!replayed) this.members.delete((frame.data as Member).conn);
        return;
      case 'room.state.changed':
        if (!replayed) {
          const { key, value } = frame.data as { key: string; value: unknown };
          this.setName(key, value);
        }
        return;
    }
  }

  nameOf(conn: string | undefined, user: string | undefined): string {
    return (conn && this.names.get(conn)) || user || 'someone';
  }

  /**
   * The `name:` keys of connections that are no longer members, for `me` to delete when it
   * is the member with the smallest connection id: one member cleans up, not all of them.
   */
  staleNames(me: string): string[] {
    const smallest = [...this.members.keys()].sort()[0];
    if (smallest !== me) return [];
    return [...this.namedConns].filter((conn) => !this.members.has(conn)).map((conn) => NAME_KEY + conn);
  }

  private setName(key: string, value: unknown): void {
    if (!key.startsWith(NAME_KEY)) return;
    const conn = key.slice(NAME_KEY.length);
    if (typeof value === 'string' && value.length > 0) {
      this.names.set(conn, value);
      this.namedConns.add(conn);
    } else {
      this.namedConns.delete(conn);
    }
  }
}
