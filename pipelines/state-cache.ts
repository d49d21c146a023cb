import type { Knex } from "knex";

/**
 * Per-key states as this process last committed them, most recently stored last. The database stays
 * the truth: a batch uses a cached state only when the key's row still holds the same last_seq (no
 * other process applied an event since), and otherwise reads it again. What it saves is reading and
 * decoding each key's state documents every batch (measured: most of a batch's time in the anomaly,
 * lead and recommendations pipelines, whose states carry histories).
 */
export class StateCache<S extends { lastSeq: number }> {
  private readonly entries = new Map<string, S>();

  /** @param capacity states kept; @param keyOf the key a state is stored under */
  constructor(
    private readonly capacity: number,
    private readonly keyOf: (state: S) => string,
  ) {}

  /**
   * Removes and returns the cached state of `key`; with `lastSeq`, only if it is the one committed
   * there. A batch mutates the states it works on, so they come back (`put`) only after its commit:
   * a batch that fails leaves nothing stale behind.
   */
  take(key: string, lastSeq?: number): S | undefined {
    const state = this.entries.get(key);
    if (state === undefined) return undefined;
    this.entries.delete(key);
    return lastSeq === undefined || state.lastSeq === lastSeq ? state : undefined;
  }

  /** Keeps committed states, dropping the least recently stored beyond the capacity. */
  put(states: Iterable<S>): void {
    for (const state of states) {
      const key = this.keyOf(state);
      this.entries.delete(key);
      this.entries.set(key, state);
    }
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
    }
  }
}

/** How one pipeline's state table is locked, read and created, for `lockCachedStates`. */
export interface StateTable<S> {
  /** `SELECT <key>, last_seq ... FOR UPDATE` of the ids in one JSON array parameter, in key order */
  lockSql: string;
  /** every column of the ids in one JSON array parameter (rows already locked) */
  loadSql: string;
  /** inserts the ids in one JSON array parameter, `ON CONFLICT DO NOTHING RETURNING <key>` */
  createSql: string;
  /** the key column's name in the rows of all three */
  key: string;
  fromRow(row: Record<string, unknown>): S;
  empty(id: string): S;
}

/**
 * Locks the states of `ids` for this transaction, creating missing rows first so that two
 * processes handling a new key at once serialise on its row instead of both starting empty. Rows
 * are locked in key order, so two batches never wait on each other in a cycle. A state the cache
 * holds at its row's own last_seq is used as is; the others are read.
 */
export async function lockCachedStates<S extends { lastSeq: number }>(
  trx: Knex.Transaction,
  ids: readonly string[],
  cache: StateCache<S>,
  table: StateTable<S>,
): Promise<Map<string, S>> {
  const json = JSON.stringify;
  const states = new Map<string, S>();
  let wanted = [...ids].sort();
  // Usually one statement: every key already has a row and its state is cached. A new key is
  // inserted (which locks it); one another process inserted meanwhile is locked by the next round.
  while (wanted.length > 0) {
    const locked: Array<Record<string, unknown>> = (await trx.raw(table.lockSql, [json(wanted)])).rows;
    const stale: string[] = [];
    for (const r of locked) {
      const id = r[table.key] as string;
      const cached = cache.take(id, r.last_seq as number);
      if (cached) states.set(id, cached);
      else stale.push(id);
    }
    if (stale.length > 0) {
      const rows: Array<Record<string, unknown>> = (await trx.raw(table.loadSql, [json(stale)])).rows;
      for (const r of rows) states.set(r[table.key] as string, table.fromRow(r));
    }
    const missing = wanted.filter((id) => !states.has(id));
    if (missing.length === 0) break;
    const created: Array<Record<string, unknown>> = (await trx.raw(table.createSql, [json(missing)])).rows;
    for (const r of created) states.set(r[table.key] as string, table.empty(r[table.key] as string));
    wanted = missing.filter((id) => !states.has(id));
  }
  return states;
}
