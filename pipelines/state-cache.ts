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
