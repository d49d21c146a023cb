/**
 * Seed 002's `GET /resources`: the host's CPU, memory, disk and network use, and this process's.
 * CPU and network figures come from `systeminformation`; the disk is the filesystem holding the
 * working directory (`statfs`), the process figures from Node and Linux's `/proc/self`.
 */
import { readdir, readFile, statfs } from "node:fs/promises";
import { cpus } from "node:os";
import si from "systeminformation";

/** A figure above this percentage raises its alert flag. */
export const ALERT_PERCENT = 90;
/** Snapshots are reused for this long: the route is public, and a CPU sample needs a previous one. */
const CACHE_MS = 1_000;

const MB = 1024 ** 2;
const GB = 1024 ** 3;
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export interface ResourceSnapshot {
  status: "ok";
  cpu: { usage_percent: number; count: number; per_cpu: number[] };
  memory: { total_mb: number; available_mb: number; used_mb: number; usage_percent: number };
  disk: { path: string; total_gb: number; used_gb: number; free_gb: number; usage_percent: number };
  process: { memory_mb: number; cpu_percent: number; threads: number | null; open_files: number | null };
  network: { bytes_sent_mb: number; bytes_recv_mb: number; interfaces: string[] };
  alerts: { high_cpu: boolean; high_memory: boolean; low_disk: boolean };
  timestamp: string;
}

/**
 * Takes snapshots, at most one per second. CPU usage is measured between two snapshots (the first
 * one: since boot), as `top` does; the process's CPU is a percentage of one core, as `ps` shows it.
 */
export function resourceMonitor(diskPath = process.cwd()) {
  /** `takenAt` is null while the snapshot is being taken: callers meanwhile share it */
  let cached: { takenAt: number | null; snapshot: Promise<ResourceSnapshot> } | undefined;
  let lastProcess = { at: performance.now(), usage: process.cpuUsage() };

  async function take(): Promise<ResourceSnapshot> {
    const [load, mem, disk, net, threads, openFiles] = await Promise.all([
      si.currentLoad(),
      si.mem(),
      statfs(diskPath),
      si.networkStats("*"),
      linuxThreads(),
      linuxOpenFiles(),
    ]);
    const now = { at: performance.now(), usage: process.cpuUsage() };
    const cpuMicros = now.usage.user - lastProcess.usage.user + now.usage.system - lastProcess.usage.system;
    const processCpu = (cpuMicros / 1000 / Math.max(1, now.at - lastProcess.at)) * 100;
    lastProcess = now;
    // as df counts: the blocks reserved for root are neither used nor free to us
    const diskUsed = (disk.blocks - disk.bfree) * disk.bsize;
    const diskFree = disk.bavail * disk.bsize;
    const diskTotal = disk.blocks * disk.bsize;
    // bytes on the wire: the loopback's traffic is the host talking to itself
    const external = net.filter((n) => n.iface !== "lo");
    const memoryUsage = ((mem.total - mem.available) / mem.total) * 100;
    const diskUsage = diskUsed + diskFree > 0 ? (diskUsed / (diskUsed + diskFree)) * 100 : 0;
    return {
      status: "ok",
      cpu: { usage_percent: round(load.currentLoad), count: cpus().length, per_cpu: load.cpus.map((c) => round(c.load)) },
      memory: {
        total_mb: round(mem.total / MB),
        available_mb: round(mem.available / MB),
        used_mb: round((mem.total - mem.available) / MB),
        usage_percent: round(memoryUsage),
      },
      disk: {
        path: diskPath,
        total_gb: round(diskTotal / GB),
        used_gb: round(diskUsed / GB),
        free_gb: round(diskFree / GB),
        usage_percent: round(diskUsage),
      },
      process: { memory_mb: round(process.memoryUsage.rss() / MB), cpu_percent: round(processCpu), threads, open_files: openFiles },
      network: {
        bytes_sent_mb: round(external.reduce((sum, n) => sum + n.tx_bytes, 0) / MB),
        bytes_recv_mb: round(external.reduce((sum, n) => sum + n.rx_bytes, 0) / MB),
        interfaces: external.map((n) => n.iface),
      },
      alerts: { high_cpu: load.currentLoad > ALERT_PERCENT, high_memory: memoryUsage > ALERT_PERCENT, low_disk: diskUsage > ALERT_PERCENT },
      timestamp: new Date().toISOString(),
    };
  }

  return {
    snapshot(): Promise<ResourceSnapshot> {
      // a second from when the snapshot was taken, not from when it was asked for: the first CPU
      // sample alone takes about half a second
      if (!cached || (cached.takenAt !== null && Date.now() - cached.takenAt >= CACHE_MS)) {
        const entry: NonNullable<typeof cached> = { takenAt: null, snapshot: take() };
        cached = entry;
        entry.snapshot.then(
          () => (entry.takenAt = Date.now()),
          // a failed snapshot is not kept: the next request tries again
          () => {
            if (cached === entry) cached = undefined;
          },
        );
      }
      return cached.snapshot;
    },
  };
}

/** This process's monitor: every route reporting resources shares its snapshots. */
export const resources = resourceMonitor();

/** null where `/proc` is not there (not Linux) */
async function linuxThreads(): Promise<number | null> {
  const status = await readFile("/proc/self/status", "utf8").catch(() => null);
  const match = status?.match(/^Threads:\s+(\d+)/m);
  return match ? Number(match[1]) : null;
}

async function linuxOpenFiles(): Promise<number | null> {
  const fds = await readdir("/proc/self/fd").catch(() => null);
  return fds ? fds.length : null;
}
