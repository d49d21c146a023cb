import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";

/** What a handler decided for one message of its batch. */
export type Outcome =
  | { kind: "ack" }
  /** a transient failure: redeliver after `delayMs` */
  | { kind: "retry"; error: string; delayMs?: number }
  /** a message that can never succeed: record why and let it run out of deliveries into the DLQ */
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
  maxDeliver: number;
  /** delay before a failed message is redelivered, doubled per delivery */
  retryBaseDelayMs?: number;
}

export interface RunnerDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  failures: KV;
  metrics: Metrics;
  log: Logger;
}

/** The failure record the dead-letter worker attaches to a message that ran out of deliveries. */
export interface FailureRecord {
  error: string;
  kind: "retry" | "invalid" | "exception";
  consumer: string;
  deliveries: number;
  at: string;
}

/**
 * Runs one durable pull consumer: pulls messages, groups what has arrived into batches, lets the
 * handler work on them with bounded concurrency, then acks (after the handler's commit) or naks.
 * `stop()` stops pulling, finishes every message already received, and resolves once all are acked
 * or nakked; calling it twice returns the same promise.
 */
export class ConsumerRunner {
  private messages?: ConsumerMessages;
  private buffer: JsMsg[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private flushScheduled = false;
  private loop?: Promise<void>;
  private stopping?: Promise<void>;
  private statsTimer?: NodeJS.Timeout;
  private slotFreed?: () => void;

  constructor(
    private readonly options: RunnerOptions,
    private readonly deps: RunnerDeps,
  ) {}

  async start(): Promise<void> {
    const consumer = await this.deps.js.consumers.get(this.options.stream, this.options.durable);
    this.messages = await consumer.consume({ max_messages: this.options.batchSize * 2 });
    this.loop = this.pull(this.messages);
    void this.watchStatus(this.messages);
    this.statsTimer = setInterval(() => void this.recordStats(), 2_000);
    this.statsTimer.unref();
  }

  private async pull(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (msg.info.deliveryCount > 1) this.deps.metrics.redelivered.inc({ pipeline: this.options.pipeline });
      this.buffer.push(msg);
      this.scheduleFlush();
      // Backpressure: stop taking messages off the iterator while every batch slot is busy.
      while (this.inFlight.size >= this.options.maxInFlightBatches) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
      }
    }
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
        this.slotFreed?.();
        this.flush();
      });
      this.inFlight.add(run);
    }
  }

  private async runBatch(batch: JsMsg[]): Promise<void> {
    const { pipeline } = this.options;
    const started = performance.now();
    let outcomes: Outcome[];
    try {
      outcomes = await this.options.handler(batch);
    } catch (err) {
      this.deps.log.error({ err, pipeline, size: batch.length }, "batch failed; messages will be redelivered");
      const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      outcomes = batch.map(() => ({ kind: "retry", error }));
    }
    for (let i = 0; i < batch.length; i++) {
      const msg = batch[i]!;
      const outcome = outcomes[i] ?? { kind: "retry", error: "handler returned no outcome" };
      this.deps.metrics.consumed.inc({ pipeline, outcome: outcome.kind });
      if (outcome.kind === "ack") {
        msg.ack();
      } else {
        await this.recordFailure(msg, outcome);
        // An invalid message is nakked without delay so it reaches max_deliver quickly and the
        // server's advisory moves it to the dead-letter stream; it never blocks the others.
        const delay =
          outcome.kind === "invalid" ? 0 : (outcome.delayMs ?? (this.options.retryBaseDelayMs ?? 500) * 2 ** (msg.info.deliveryCount - 1));
        msg.nak(delay);
      }
    }
    this.deps.metrics.batchSize.observe({ pipeline }, batch.length);
    this.deps.metrics.batchDuration.observe({ pipeline }, (performance.now() - started) / 1000);
  }

  private async recordFailure(msg: JsMsg, outcome: Exclude<Outcome, { kind: "ack" }>): Promise<void> {
    const record: FailureRecord = {
      error: outcome.error,
      kind: outcome.kind,
      consumer: this.options.durable,
      deliveries: msg.info.deliveryCount,
      at: new Date().toISOString(),
    };
    try {
      await this.deps.failures.put(failureKey(this.options.stream, msg.seq), JSON.stringify(record));
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
      const info = await this.deps.jsm.consumers.info(this.options.stream, this.options.durable);
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
      await this.loop;
      this.flush();
      while (this.inFlight.size > 0 || this.buffer.length > 0) {
        await Promise.allSettled([...this.inFlight]);
        this.flush();
      }
    })();
    return this.stopping;
  }
}

export function failureKey(stream: string, seq: number): string {
  return `${stream}.${seq}`;
}
