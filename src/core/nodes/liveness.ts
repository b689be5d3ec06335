import type { Backend, Member, NodeInfo } from '../../backend/backend';
import type { Logger } from '../log';

/** Resolves with `work`, or rejects once `ms` have passed. */
function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface LivenessDeps {
  readonly id: string;
  readonly backend: Backend;
  readonly log: Logger;
  /** What this node announces in its heartbeat. */
  info(): NodeInfo;
  /** Tells a room that a member left (room.member.left through the router). */
  announceLeft(room: string, member: Member): Promise<void>;
  /** Module clean-ups for a dead node (Yjs awareness), run after its members are removed. */
  peerDown(node: string): Promise<void>;
  /** The members this node really has now, per room, to put the registry right when it may be wrong. */
  localMembers(): Array<{ room: string; member: Member }>;
}

export interface LivenessTimes {
  /** How often the heartbeat is renewed and dead nodes are looked for. */
  readonly heartbeatMs: number;
  /** How long a heartbeat lives: a node silent for this long is dead. */
  readonly ttlMs: number;
}

/**
 * Keeps this node registered and cleans up after nodes that died without saying
 * goodbye. Every `heartbeatMs` the node renews its key (which expires after `ttlMs`)
 * and compares the registry's known nodes with the live ones; for each dead node, one
 * survivor (the one that wins the reaper lock) removes its members, announces their
 * departure to their rooms, and runs the modules' clean-ups. A dead node's members are
 * therefore gone from every view within ttlMs + heartbeatMs (plus one Redis round trip).
 */
export class Liveness {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private beats = 0;
  /** This node's members in the registry may be wrong: put them right on the next beat. */
  private stale = false;

  constructor(
    private readonly deps: LivenessDeps,
    private readonly times: LivenessTimes,
  ) {
    deps.backend.onStatus((status) => {
      // Beat at once rather than up to a heartbeat later: the node is not registered before.
      if (status === 'up' && this.timer) this.beat();
    });
  }

  /**
   * A member's leave could not be written (Redis away): the registry still lists it. The
   * next beat that reaches Redis rewrites this node's members from its real sockets.
   */
  membershipStale(): void {
    this.stale = true;
  }

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => this.beat(), this.times.heartbeatMs);
    this.timer.unref();
  }

  private beat(): void {
    // Ticks never overlap: a slow Redis skips a beat rather than piling them up. A tick
    // that hangs is given up after a TTL, so one lost reply cannot stop the heartbeat.
    this.running ??= within(this.tick(), this.times.ttlMs)
      .catch(() => this.deps.log.warn('heartbeat tick took longer than NODE_TTL_MS; given up'))
      .finally(() => {
        this.running = undefined;
      });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    const { backend, log } = this.deps;
    if (backend.status() !== 'up') return;
    try {
      const wasAlive = await backend.nodes.heartbeat(this.deps.info(), this.times.ttlMs);
      // A beat that finds its predecessor expired (not the first): other nodes may have
      // reaped this one meanwhile and removed its members.
      if (!wasAlive && this.beats > 0) this.stale = true;
      this.beats += 1;
      if (this.stale) {
        this.stale = false;
        await this.reconcile();
      }
      await this.reap();
    } catch (err) {
      log.warn({ err }, 'heartbeat or reaping failed; retried on the next beat');
    }
  }

  private async reap(): Promise<void> {
    const { backend, log, id } = this.deps;
    for (const dead of await backend.nodes.dead()) {
      if (dead === id) continue;
      // The lock outlives one round of cleanup, so only one survivor announces each departure.
      if (!(await backend.nodes.claim(dead, this.times.ttlMs))) continue;
      const removed = await backend.members.removeNode(dead);
      log.warn({ dead, members: removed.length }, 'node died without saying goodbye; its members removed');
      for (const { room, member } of removed) {
        await this.deps.announceLeft(room, member).catch((err: unknown) => {
          log.warn({ err, room, conn: member.conn }, 'could not announce a departed member');
        });
      }
      await this.deps.peerDown(dead);
      await backend.nodes.forget(dead);
    }
  }

  /**
   * Puts this node's members back as they really are: after a leave that could not be
   * written, or after other nodes took this one for dead and removed its members.
   */
  private async reconcile(): Promise<void> {
    const { backend, log, id } = this.deps;
    try {
      // Start from a clean slate for this node, then put back who is really here.
      const recorded = await backend.members.removeNode(id);
      const local = this.deps.localMembers();
      for (const { room, member } of local) await backend.members.add(room, member);
      const here = new Set(local.map(({ room, member }) => `${room}\u0000${member.conn}`));
      for (const { room, member } of recorded) {
        if (!here.has(`${room}\u0000${member.conn}`)) await this.deps.announceLeft(room, member);
      }
      log.info({ members: local.length }, 'membership reconciled');
    } catch (err) {
      this.stale = true;
      log.warn({ err }, 'membership reconcile failed; retried on the next beat');
    }
  }
}
