import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks (100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in ms; 0 once it is gone. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Where the machine's CPU went: the load generator, the system's server nodes, Redis. */
export interface CpuSplit {
  readonly clients: number;
  readonly servers: number;
  readonly redis: number;
}

export interface CpuPids {
  readonly clients: readonly number[];
  readonly servers: readonly number[];
  readonly redis: number | undefined;
}

export function cpuNow(pids: CpuPids): CpuSplit {
  const sum = (list: readonly number[]) => list.reduce((total, pid) => total + cpuMs(pid), 0);
  return { clients: sum(pids.clients), servers: sum(pids.servers), redis: cpuMs(pids.redis) };
}

/** CPU ms per 1,000 deliveries between two readings. */
export function perThousand(before: CpuSplit, after: CpuSplit, deliveries: number): CpuSplit {
  const per = (a: number, b: number) => (deliveries > 0 ? ((b - a) * 1000) / deliveries : Number.NaN);
  return {
    clients: per(before.clients, after.clients),
    servers: per(before.servers, after.servers),
    redis: per(before.redis, after.redis),
  };
}

export function meanSplit(splits: readonly CpuSplit[]): CpuSplit | undefined {
  if (splits.length === 0) return undefined;
  const mean = (pick: (s: CpuSplit) => number) => splits.reduce((t, s) => t + pick(s), 0) / splits.length;
  return { clients: mean((s) => s.clients), servers: mean((s) => s.servers), redis: mean((s) => s.redis) };
}
