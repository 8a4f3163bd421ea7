/**
 * CPU time of task processes, as the ECS agent reads it from the container's cgroup: here
 * the process group of each task (its leader and the children it starts), from /proc. On a
 * system without /proc the measure is unavailable and the load knob is the only CPU source.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ) on every common platform. */
const TICKS_PER_SECOND = 100;

/** utime and stime (fields 14 and 15) and the process group (field 5) of a /proc/<pid>/stat line. */
export function parseStat(line: string): { pgrp: number; cpuSeconds: number } | undefined {
  // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
  const close = line.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = line.slice(close + 2).split(' ');
  const pgrp = Number(fields[2]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(pgrp) || !Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { pgrp, cpuSeconds: (utime + stime) / TICKS_PER_SECOND };
}

/** CPU seconds used so far by the processes of each group in `groups`; undefined without /proc. */
export function groupCpuSeconds(groups: ReadonlySet<number>): Map<number, number> | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const totals = new Map<number, number>();
  for (const pid of pids) {
    let stat: ReturnType<typeof parseStat>;
    try {
      stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      continue; // gone meanwhile
    }
    if (stat && groups.has(stat.pgrp)) totals.set(stat.pgrp, (totals.get(stat.pgrp) ?? 0) + stat.cpuSeconds);
  }
  return totals;
}
