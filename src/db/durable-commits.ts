import type { Knex } from "knex";

/**
 * Makes asynchronous commits durable in groups. A statement that commits with
 * `synchronous_commit` off (see `ASYNC_COMMIT`) returns as soon as its WAL record is written,
 * before it is on disk: no fsync on the caller's path. Postgres flushes such records within
 * 3 × wal_writer_delay by itself, but says nothing when it has; so one transaction that commits
 * synchronously afterwards (with the server's own `synchronous_commit`, a synchronous standby
 * included) flushes the WAL up to its own commit record, and with it every commit made before it
 * began.
 *
 * `flushed()` resolves once such a commit, begun after the call, has returned: one every
 * `intervalMs` at most, shared by every caller that asked meanwhile. It rejects if that commit
 * failed, when nothing is known about the earlier ones.
 */
export class DurableCommits {
  private waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;

  constructor(
    private readonly db: Knex,
    private readonly intervalMs: number,
  ) {}

  flushed(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => void this.flush(), this.intervalMs);
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    this.flushing = true;
    const group = this.waiting;
    this.waiting = [];
    try {
      await this.db.raw(FLUSHING_COMMIT);
      for (const w of group) w.resolve();
    } catch (err) {
      for (const w of group) w.reject(err);
    } finally {
      this.flushing = false;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}

/**
 * The smallest transaction whose synchronous commit flushes the WAL. Postgres waits for the flush
 * only when the transaction wrote WAL of its own and has a transaction id: taking an id alone
 * (`pg_current_xact_id()`) writes nothing, and its commit does not wait. A transactional logical
 * message is one small WAL record, takes an id, needs no table and no privilege beyond the
 * default, and is ignored by anything but a logical decoding plugin that asks for its prefix.
 */
const FLUSHING_COMMIT = "SELECT pg_logical_emit_message(true, 'tidecast.durable-commits', '')";

/**
 * A select-list item that makes the statement's own transaction commit asynchronously. A statement
 * outside a transaction block commits when it ends, with the value of `synchronous_commit` then;
 * `set_config(…, true)` sets it for the current transaction only, in the same round trip (where
 * `SET LOCAL` would need a transaction block: three more).
 */
export const ASYNC_COMMIT = "set_config('synchronous_commit', 'off', true)";
