/**
 * Publishes with at most `limit` PubAcks outstanding: reading waits for the oldest publish when
 * the window is full (backpressure from JetStream down to the CSV stream), and the window knows
 * the row before which every publish is acknowledged, the checkpoint a resumed import starts from.
 */
export class PublishWindow {
  private readonly pending: Array<{ row: number; done: Promise<unknown> }> = [];
  private failure: { error: unknown } | null = null;
  /** the row after the last one handed over (published, or passed over as rejected) */
  private nextRow = 1;

  constructor(private readonly limit: number) {}

  /** Adds row `row`'s publish. Rows must come in increasing order; when `full`, await `room()` before the next. */
  add(row: number, publish: Promise<unknown>): void {
    // every publish has a handler at once: a failure is reported by room() or flush(), never unhandled
    publish.catch((error: unknown) => {
      this.failure ??= { error };
    });
    this.pending.push({ row, done: publish });
    this.nextRow = row + 1;
  }

  /**
   * True when the caller must wait for room. Checked synchronously on purpose: the NATS client
   * writes what was published before it next yields to the event loop in one socket write, so a
   * caller that awaited after every publish would cost one write per message.
   */
  get full(): boolean {
    return this.pending.length >= this.limit || this.failure !== null;
  }

  /** Waits until the window is half empty, so publishes go out in bursts; throws the first failure. */
  async room(): Promise<void> {
    while (this.pending.length > this.limit / 2) await this.settleOldest();
    this.throwIfFailed();
  }

  /** Passes over a row that is not published (rejected, or published by an earlier run). */
  pass(row: number): void {
    this.nextRow = row + 1;
  }

  /** Waits for every publish; throws the first failure. */
  async flush(): Promise<void> {
    while (this.pending.length > 0) await this.settleOldest();
    this.throwIfFailed();
  }

  /** The first row not known to be acknowledged: a resumed import publishes from here. */
  checkpoint(): number {
    return this.pending.length > 0 ? this.pending[0]!.row : this.nextRow;
  }

  get inFlight(): number {
    return this.pending.length;
  }

  private async settleOldest(): Promise<void> {
    const oldest = this.pending[0]!;
    try {
      await oldest.done;
    } catch {
      // recorded by the handler set in add()
    }
    this.pending.shift();
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
