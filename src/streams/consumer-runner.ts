import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Bus } from "./bus.ts";
import { deadLetter, failureKey, type FailureRecord } from "./dead-letter.ts";

/** What a handler decided for one message of its batch. */
export type Outcome =
  | { kind: "ack" }
  /** a transient failure: redeliver after `delayMs` */
  | { kind: "retry"; error: string; delayMs?: number }
  /** a message that can never succeed: copied to the dead-letter stream at once, then terminated */
  | { kind: "invalid"; error: string };

export type BatchHandler = (batch: readonly JsMsg[]) => Promise<Outcome[]>;

export interface RunnerOptions {
  pipeline: string;
  stream: string;
  durable: string;
  handler: BatchHandler;
  /** messages handed to the handler at once */
  batchSize: number;
  /** batches handled concurrently; 1 keeps per-key order for stateful pipelines */
  maxInFlightBatches: number;
  /**
   * Stateful pipelines: a batch whose handler throws (a database outage, say) is retried in place
   * instead of being nakked, so no later message for the same key overtakes it.
   */
  ordered: boolean;
  maxDeliver: number;
  /** delay before a failed message is redelivered, doubled per delivery */
  retryBaseDelayMs?: number;
}

export interface RunnerDeps {
  bus: Bus;
  metrics: Metrics;
  log: Logger;
}

/**
 * Runs one durable pull consumer: pulls messages, groups what has arrived into batches, lets the
 * handler work on them with bounded concurrency, then acks (after the handler's commit) or naks.
 * Backpressure is the server's: it delivers no more than the consumer's max_ack_pending.
 * `stop()` stops pulling, finishes every message already received, and resolves once all are acked
 * or nakked; calling it twice returns the same promise.
 */
export class ConsumerRunner {
  private messages?: ConsumerMessages;
  private buffer: JsMsg[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private flushScheduled = false;
  private stopping?: Promise<void>;
  private statsTimer?: NodeJS.Timeout;

  constructor(
    private readonly options: RunnerOptions,
    private readonly deps: RunnerDeps,
  ) {}

  async start(): Promise<void> {
    const consumer = await this.deps.bus.js.consumers.get(this.options.stream, this.options.durable);
    // Callback mode hands every message over as it arrives, so none waits in a client-side queue
    // that a stop would drop; the consumer's max_ack_pending bounds how many can be buffered here.
    this.messages = await consumer.consume({
      max_messages: this.options.batchSize * 2,
      callback: (msg) => {
        if (msg.info.deliveryCount > 1) this.deps.metrics.redelivered.inc({ pipeline: this.options.pipeline });
        this.buffer.push(msg);
        this.scheduleFlush();
      },
    });
    void this.watchStatus(this.messages);
    this.statsTimer = setInterval(() => void this.recordStats(), 2_000);
    this.statsTimer.unref();
  }

  private scheduleFlush(): void {
    if (this.buffer.length >= this.options.batchSize) {
      this.flush();
    } else if (!this.flushScheduled) {
      // setImmediate runs after the iterator has handed over everything already received,
      // so a burst becomes one batch and a lone message waits no longer than one tick.
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    while (this.buffer.length > 0 && this.inFlight.size < this.options.maxInFlightBatches) {
      const batch = this.buffer.splice(0, this.options.batchSize);
      const run = this.runBatch(batch).finally(() => {
        this.inFlight.delete(run);
        this.flush();
      });
      this.inFlight.add(run);
    }
  }

  private async runBatch(batch: JsMsg[]): Promise<void> {
    const { pipeline } = this.options;
    const started = performance.now();
    const outcomes = await this.handle(batch);
    for (let i = 0; i < batch.length; i++) {
      const msg = batch[i]!;
      const outcome = outcomes[i] ?? { kind: "retry", error: "handler returned no outcome" };
      this.deps.metrics.consumed.inc({ pipeline, outcome: outcome.kind });
      if (outcome.kind === "ack") {
        msg.ack();
      } else if (outcome.kind === "invalid") {
        await this.rejectInvalid(msg, outcome.error);
      } else {
        await this.recordFailure(msg, outcome.error);
        msg.nak(outcome.delayMs ?? this.retryDelay(msg.info.deliveryCount));
      }
    }
    this.deps.metrics.batchSize.observe({ pipeline }, batch.length);
    this.deps.metrics.batchDuration.observe({ pipeline }, (performance.now() - started) / 1000);
  }

  /** Runs the handler; a throw becomes a retry of every message, in place first when ordered. */
  private async handle(batch: JsMsg[]): Promise<Outcome[]> {
    const attempts = this.options.ordered ? this.options.maxDeliver : 1;
    let error = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await this.options.handler(batch);
      } catch (err) {
        error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        this.deps.log.error({ err, pipeline: this.options.pipeline, size: batch.length, attempt }, "batch failed");
        if (attempt < attempts && !this.stopping) {
          for (const msg of batch) msg.working(); // restart ack_wait while we wait
          await new Promise((r) => setTimeout(r, this.retryDelay(attempt)));
        }
      }
    }
    return batch.map(() => ({ kind: "retry", error }));
  }

  private retryDelay(attempt: number): number {
    return Math.min((this.options.retryBaseDelayMs ?? 500) * 2 ** (attempt - 1), 30_000);
  }

  /** A message that can never be processed goes to the DLQ now rather than after max_deliver retries. */
  private async rejectInvalid(msg: JsMsg, error: string): Promise<void> {
    try {
      await deadLetter(
        { publisher: this.deps.bus.publisher, names: this.deps.bus.names, metrics: this.deps.metrics, log: this.deps.log },
        {
          stream: msg.info.stream,
          seq: msg.seq,
          subject: msg.subject,
          data: msg.data,
          headers: msg.headers,
          failure: { error, consumer: this.options.durable, deliveries: msg.info.deliveryCount, at: new Date().toISOString() },
        },
      );
      msg.term(error.slice(0, 200));
    } catch (err) {
      this.deps.log.warn({ err }, "could not dead-letter an invalid message; it will be redelivered");
      await this.recordFailure(msg, error);
      msg.nak(this.retryDelay(msg.info.deliveryCount));
    }
  }

  private async recordFailure(msg: JsMsg, error: string): Promise<void> {
    const record: FailureRecord = {
      error,
      consumer: this.options.durable,
      deliveries: msg.info.deliveryCount,
      at: new Date().toISOString(),
    };
    try {
      await this.deps.bus.failures.put(failureKey(this.options.stream, msg.seq), JSON.stringify(record));
    } catch (err) {
      this.deps.log.warn({ err }, "could not record message failure");
    }
  }

  private async watchStatus(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (status.type === "heartbeat" || status.type === "next" || status.type === "debug") continue;
      this.deps.metrics.consumerNotifications.inc({ pipeline: this.options.pipeline, type: status.type });
      this.deps.log.warn({ pipeline: this.options.pipeline, status }, "consumer status");
    }
  }

  private async recordStats(): Promise<void> {
    try {
      const info = await this.deps.bus.jsm.consumers.info(this.options.stream, this.options.durable);
      this.deps.metrics.consumerPending.set({ pipeline: this.options.pipeline }, info.num_pending);
      this.deps.metrics.consumerAckPending.set({ pipeline: this.options.pipeline }, info.num_ack_pending);
    } catch {
      // the next tick tries again; a missing consumer shows up in the status notifications
    }
  }

  /** Stops pulling, finishes what was received, then resolves. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.statsTimer);
      await this.messages?.close();
      this.flush();
      while (this.inFlight.size > 0 || this.buffer.length > 0) {
        await Promise.allSettled([...this.inFlight]);
        this.flush();
      }
    })();
    return this.stopping;
  }
}
