import pg from "pg";
import type { Logger } from "../log.ts";

/**
 * A Postgres session-level advisory lock that makes one process the leader of a named job. The
 * lock lives as long as its dedicated connection, so a leader that dies (even by SIGKILL) frees it
 * at once; `lost` resolves if the connection drops while leading.
 */
export class LeaderLock {
  private client?: pg.Client;
  private lostResolve?: () => void;
  /** resolves when leadership held by this instance ends unexpectedly */
  lost: Promise<void> = new Promise(() => undefined);

  constructor(
    private readonly url: string,
    readonly name: string,
    private readonly log: Logger,
    private readonly retryMs = 2_000,
  ) {}

  /** Waits until this process holds the lock; returns false if `cancelled()` turns true first. */
  async acquire(cancelled: () => boolean): Promise<boolean> {
    let waitingLogged = false;
    while (!cancelled()) {
      const client = new pg.Client({ connectionString: this.url });
      client.on("error", (err) => this.log.warn({ err, lock: this.name }, "leader lock connection error"));
      try {
        await client.connect();
        const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [this.name]);
        if (rows[0]?.ok) {
          this.client = client;
          this.lost = new Promise((resolve) => (this.lostResolve = resolve));
          client.once("end", () => this.lostResolve?.());
          return true;
        }
        await client.end();
        if (!waitingLogged) this.log.info({ lock: this.name }, "another process leads; standing by");
        waitingLogged = true;
      } catch (err) {
        this.log.warn({ err, lock: this.name }, "leader lock unavailable; retrying");
        await client.end().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, this.retryMs));
    }
    return false;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.lostResolve = undefined;
    await client?.end();
  }
}
