import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { ROOT_DIR } from "../../../src/config.ts";

export { ROOT_DIR };

/** Keeps the last `max` lines of a stream, so a failure can show what the child said. */
class Tail {
  private lines: string[] = [];
  private partial = "";
  constructor(private readonly max = 200) {}
  push(chunk: Buffer): void {
    const text = this.partial + chunk.toString("utf8");
    const parts = text.split("\n");
    this.partial = parts.pop() ?? "";
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }
  text(): string {
    return [...this.lines, this.partial].filter(Boolean).join("\n");
  }
}

export interface ChildOptions {
  name: string;
  /** script relative to the repository root, run with `node --import tsx` */
  script: string;
  env: Record<string, string>;
  /** extra node flags, e.g. --cpu-prof */
  nodeFlags?: string[];
}

/** A child Node process running a TypeScript entry point, with its output kept for diagnostics. */
export class Child {
  readonly proc: ChildProcess;
  readonly spawnedAt = performance.now();
  readonly stdout = new Tail();
  readonly stderr = new Tail();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private stopping = false;
  private readonly stdoutListeners = new Set<(line: string) => void>();

  constructor(readonly options: ChildOptions) {
    this.proc = spawn(process.execPath, [...(options.nodeFlags ?? []), "--import", "tsx", resolve(ROOT_DIR, options.script)], {
      cwd: ROOT_DIR,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc.stdout!.on("data", (chunk: Buffer) => {
      this.stdout.push(chunk);
      if (this.stdoutListeners.size > 0) for (const l of this.stdoutListeners) l(chunk.toString("utf8"));
    });
    this.proc.stderr!.on("data", (chunk: Buffer) => this.stderr.push(chunk));
    this.exited = new Promise((resolveExit) => {
      this.proc.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolveExit({ code, signal });
      });
      this.proc.once("error", () => {
        this.exitInfo ??= { code: -1, signal: null };
        resolveExit(this.exitInfo);
      });
    });
  }

  get name(): string {
    return this.options.name;
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  /** Rejects as soon as the child exits while it was not being stopped. */
  failOnExit(): Promise<never> {
    return this.exited.then(({ code, signal }) => {
      if (this.stopping) return new Promise<never>(() => undefined);
      throw new Error(`${this.name} exited unexpectedly (code ${code}, signal ${signal})`);
    });
  }

  /** Resolves with the first stdout text matching `pattern`. */
  waitForStdout(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolveMatch, reject) => {
      const existing = this.stdout.text().match(pattern);
      if (existing) return resolveMatch(existing);
      let seen = this.stdout.text();
      const timer = setTimeout(() => {
        this.stdoutListeners.delete(listener);
        reject(new Error(`${this.name}: no output matching ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (chunk: string) => {
        seen += chunk;
        const m = seen.match(pattern);
        if (m) {
          clearTimeout(timer);
          this.stdoutListeners.delete(listener);
          resolveMatch(m);
        }
      };
      this.stdoutListeners.add(listener);
      void this.failOnExit().catch((err) => {
        clearTimeout(timer);
        this.stdoutListeners.delete(listener);
        reject(err);
      });
    });
  }

  /** SIGTERM, wait for the exit (SIGKILL after `graceMs`). Idempotent. */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopping = true;
    if (!this.alive) return;
    this.proc.kill("SIGTERM");
    const killer = setTimeout(() => {
      if (this.alive) {
        console.error(`[bench] ${this.name} did not exit ${graceMs} ms after SIGTERM; sending SIGKILL`);
        this.proc.kill("SIGKILL");
      }
    }, graceMs);
    await this.exited;
    clearTimeout(killer);
  }

  /** What the child printed, for a failure report. */
  diagnostics(): string {
    const out = this.stdout.text();
    const err = this.stderr.text();
    const status = this.exitInfo ? `exited (code ${this.exitInfo.code}, signal ${this.exitInfo.signal})` : "running";
    return [
      `----- ${this.name} (pid ${this.proc.pid}, ${status}) -----`,
      err ? `stderr:\n${err}` : "stderr: (empty)",
      out ? `stdout (tail):\n${out}` : "stdout: (empty)",
    ].join("\n");
  }
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `url` until it answers 200, failing early if `child` exits. */
export async function waitForHttp(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = "";
  while (performance.now() < deadline) {
    if (!child.alive) throw new Error(`${child.name} exited before ${url} answered (code ${child.exitInfo?.code})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) {
        await res.arrayBuffer();
        return;
      }
      last = `HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`;
    } catch (err) {
      last = String(err);
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (last: ${last})`);
}
