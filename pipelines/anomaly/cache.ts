import type { SeriesState } from "./state.ts";

/**
 * Series states as this process last committed them, most recently used last. The database stays
 * the truth: a batch uses a cached state only when the series' row still holds the same last_seq
 * (no other process applied a point since), and otherwise reads it again. What it saves is reading
 * and decoding a history of up to 24 kB per series per batch (measured: most of a batch's time when
 * many long series get a point or two each).
 */
export class StateCache {
  private readonly entries = new Map<string, SeriesState>();

  /** @param capacity series kept; a full history costs about 50 kB here (values and stored bytes) */
  constructor(private readonly capacity: number) {}

  /**
   * Removes and returns the cached state of `seriesId`. A batch mutates the states it works on, so
   * they come back (`put`) only after its commit; a batch that fails leaves nothing stale behind.
   */
  take(seriesId: string): SeriesState | undefined {
    const state = this.entries.get(seriesId);
    this.entries.delete(seriesId);
    return state;
  }

  /** Keeps committed states, dropping the least recently used beyond the capacity. */
  put(states: Iterable<SeriesState>): void {
    for (const state of states) {
      this.entries.delete(state.seriesId);
      this.entries.set(state.seriesId, state);
    }
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
    }
  }
}
