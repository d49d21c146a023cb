import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU used by other processes while a phase ran. This machine is shared (two cores, other
 * people's tests and experiments): a figure measured while something else burned a core is not
 * the platform's, and the report says so.
 */
const TICKS_PER_S = 100; // getconf CLK_TCK on Linux
const SERVICES = new Set(["postgres", "nats-server", "redis-server"]);

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime */
  ticks: number;
  /** cutime + cstime: children this process has reaped */
  childTicks: number;
}

/** A process's name and its /proc/<pid>/stat fields after the name (which may hold spaces): fields[0] is field 3 of proc(5). */
function readStat(pid: number | string): { comm: string; fields: string[] } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const close = stat.lastIndexOf(")");
  return { comm: stat.slice(stat.indexOf("(") + 1, close), fields: stat.slice(close + 2).split(" ") };
}

/** user + system CPU-seconds one process (all its threads) has used so far. */
export function processCpuSeconds(pid: number): number {
  const { fields } = readStat(pid);
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

function readProcs(): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return procs; // not Linux
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { comm, fields } = readStat(entry);
      // fields[0] is state (field 3 of proc(5)): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17
      procs.set(Number(entry), {
        pid: Number(entry),
        ppid: Number(fields[1]),
        comm,
        ticks: Number(fields[11]) + Number(fields[12]),
        childTicks: Number(fields[13]) + Number(fields[14]),
      });
    } catch {
      // exited meanwhile
    }
  }
  return procs;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim().slice(0, 120);
  } catch {
    return "";
  }
}

export interface Snapshot {
  at: number;
  procs: Map<number, Proc>;
  total: number;
  idle: number;
  steal: number;
}

/**
 * The machine's CPU ticks so far, all cores together (the first line of /proc/stat). `steal` is
 * time a virtual CPU was ready to run and the hypervisor ran something else: on this VM it comes
 * in bursts, and the processes measured cannot tell it from a slow second of their own.
 */
export interface CpuTotals {
  total: number;
  idle: number;
  steal: number;
}

export function cpuTotals(): CpuTotals {
  try {
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), idle: (f[3] ?? 0) + (f[4] ?? 0), steal: f[7] ?? 0 };
  } catch {
    return { total: 0, idle: 0, steal: 0 };
  }
}

/** The machine's busy and steal shares between two readings of `cpuTotals`, in % of all cores; busy excludes steal. */
export function cpuShares(before: CpuTotals, after: CpuTotals): { busyPct: number; stealPct: number } | null {
  const all = after.total - before.total;
  if (all <= 0) return null;
  const steal = after.steal - before.steal;
  return { busyPct: (100 * (all - (after.idle - before.idle) - steal)) / all, stealPct: (100 * steal) / all };
}

export function snapshot(): Snapshot {
  return { at: performance.now(), procs: readProcs(), ...cpuTotals() };
}

export interface Background {
  seconds: number;
  /** cores the machine has */
  cores: number;
  /** CPU-seconds used by the bench itself, its children and their descendants */
  benchCpuS: number;
  /** CPU-seconds used by postgres, nats-server, redis-server (shared with everyone) */
  servicesCpuS: number;
  /**
   * CPU-seconds used by everything else (someone else's load): the machine's busy time minus the
   * bench's and the services', so processes that started and ended within the phase count too
   */
  otherCpuS: number;
  /** otherCpuS as cores on average */
  otherCores: number;
  /** cores' worth of time the hypervisor gave to other guests while this machine's CPUs had work (steal) */
  stealCores: number;
  machineBusy: number;
  top: Array<{ pid: number; cpuS: number; cmd: string }>;
}

/** `roots` and every process either snapshot shows descending from them. */
function withDescendants(roots: readonly number[], before: Snapshot, after: Snapshot): Set<number> {
  const own = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of [...after.procs.values(), ...before.procs.values()]) {
      if (!own.has(p.pid) && own.has(p.ppid)) {
        own.add(p.pid);
        grew = true;
      }
    }
  }
  return own;
}

/** Splits the CPU time between two snapshots into the bench's, the services' and everyone else's. */
export function background(before: Snapshot, after: Snapshot, cores: number): Background {
  // the bench process and its descendants (children, their workers)
  const own = withDescendants([process.pid], before, after);
  let bench = 0;
  let services = 0;
  const top: Array<{ pid: number; cpuS: number; cmd: string }> = [];
  for (const p of after.procs.values()) {
    const prev = before.procs.get(p.pid);
    const delta = (p.ticks - (prev?.ticks ?? 0)) / TICKS_PER_S;
    // the bench reaps its children: their CPU lands in its cutime/cstime once they exit
    const reaped = own.has(p.pid) ? (p.childTicks - (prev?.childTicks ?? 0)) / TICKS_PER_S : 0;
    if (own.has(p.pid)) bench += delta + reaped;
    else if (SERVICES.has(p.comm)) services += delta;
    else if (delta >= 0.2) top.push({ pid: p.pid, cpuS: Math.round(delta * 10) / 10, cmd: cmdline(p.pid) || p.comm });
  }
  const seconds = (after.at - before.at) / 1000;
  const totalTicks = after.total - before.total;
  // /proc/stat counts every core's ticks: busy CPU-seconds of the whole machine, steal not counted
  const steal = (after.steal - before.steal) / TICKS_PER_S;
  const busy = (totalTicks - (after.idle - before.idle)) / TICKS_PER_S - steal;
  const other = Math.max(0, busy - bench - services);
  return {
    seconds,
    cores,
    benchCpuS: Math.round(bench * 10) / 10,
    servicesCpuS: Math.round(services * 10) / 10,
    otherCpuS: Math.round(other * 10) / 10,
    otherCores: seconds > 0 ? Math.round((other / seconds) * 100) / 100 : 0,
    stealCores: seconds > 0 ? Math.round((steal / seconds) * 100) / 100 : 0,
    machineBusy: Math.round(cpuShares(before, after)?.busyPct ?? 0) / 100,
    top: top.sort((a, b) => b.cpuS - a.cpuS).slice(0, 5),
  };
}

export interface CpuSplit {
  processesS: number;
  servicesS: number;
  /** the services' CPU-seconds by process name */
  byService: Record<string, number>;
}

/** CPU-seconds between two snapshots used by the given processes (and their descendants), and by the services. */
export function cpuOf(before: Snapshot, after: Snapshot, pids: readonly number[]): CpuSplit {
  const own = withDescendants(pids, before, after);
  let processes = 0;
  let services = 0;
  const byService: Record<string, number> = {};
  for (const p of after.procs.values()) {
    const delta = (p.ticks - (before.procs.get(p.pid)?.ticks ?? 0)) / TICKS_PER_S;
    if (own.has(p.pid)) processes += delta;
    else if (SERVICES.has(p.comm)) {
      services += delta;
      byService[p.comm] = (byService[p.comm] ?? 0) + delta;
    }
  }
  return { processesS: processes, servicesS: services, byService };
}

/** CPU-seconds as milliseconds per `per` units of work, `done` units having been done. */
export function msPer(seconds: number, done: number, per: number): number {
  return done > 0 ? (seconds * 1000 * per) / done : NaN;
}

/** A split's CPU in milliseconds per `per` units of work, `done` units having been done. */
export function cpuPer(cpu: CpuSplit, done: number, per: number): { processes: number; services: number; byService: Record<string, number> } {
  const scale = (seconds: number) => msPer(seconds, done, per);
  return {
    processes: scale(cpu.processesS),
    services: scale(cpu.servicesS),
    byService: Object.fromEntries(Object.entries(cpu.byService).map(([name, seconds]) => [name, scale(seconds)])),
  };
}
