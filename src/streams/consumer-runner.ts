import { AckPolicy, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import type { LeaderLock } from "../db/leader-lock.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { AckWatermark } from "./ack-watermark.ts";
import type { Bus } from "./bus.ts";
import { encodeJson } from "./codec.ts";
import { deadLetter, failureKey, type FailureRecord } from "./dead-letter.ts";
import { ensureDurable, type DurableSpec } from "./topology.ts";

/**
 * The answer to a request/reply caller, which the runner sends as it settles the handler's message
 * (after the handler's commit). Published as JSON in the same socket write as the batch's acks
 * (when the handler published it itself, that was a write, and a wakeup of nats-server, of its own),
 * or handed straight to the caller when it waits in this process (`ReplyRouter.answerLocally`).
 */
export interface Reply {
  subject: string;
  /** plain JSON data */
  value: unknown;
}

/** What a handler decided for one message of its batch. */
export type Outcome =
  | {
      kind: "ack";
      reply?: Reply;
      /**
       * unordered runners: ack only once this resolves (the handler's commit is on disk, see
       * DurableCommits), nak if it rejects; the reply goes out at once
       */
      durable?: Promise<void>;
    }
  /**
   * a transient failure: redeliver after `delayMs` (unordered runners); an ordered runner retries
   * the whole batch in place instead, as if the handler had thrown
   */
  | { kind: "retry"; error: string; delayMs?: number }
  /** a message that can never succeed: copied to the dead-letter stream at once, then terminated */
  | { kind: "invalid"; error: string; reply?: Reply };

// How long one pull request waits for messages; also the longest a stop waits for the last one.
const FETCH_EXPIRES_MS = 2_000;

/** Handles a batch; `close`, when present, releases what the handler holds once its runner has stopped. */
export type BatchHandler = ((batch: readonly JsMsg[]) => Promise<Outcome[]>) & { close?(): Promise<void> };

export interface RunnerOptions {
  pipeline: string;
  /** the durable pull consumer this runner creates or reconciles, then reads (its ack policy follows `ordered`) */
  consumer: Omit<DurableSpec, "ackPolicy">;
  handler: BatchHandler;
  /** messages handed to the handler at once */
  batchSize: number;
  /** batches handled concurrently per lane; 1 keeps per-key order for stateful pipelines */
  maxInFlightBatches: number;
  /**
   * Ordered pipelines whose keys share no state: messages are split by subject (one key, one
   * subject) into this many lanes, each handled in stream order, one batch at a time, while the
   * other lanes' batches run; so one lane computes while another waits on its commit. 1 (the
   * default) is a single lane.
   */
  lanes?: number;
  /**
   * Stateful pipelines need stream order per key. An ordered runner consumes only while it holds
   * its leader lock (other processes stand by), rewinds the consumer to its ack floor when it takes
   * over (so messages a previous leader took but never acked come first, in order), and retries a
   * batch whose handler throws in place instead of letting later messages overtake it. Being the
   * consumer's only reader, it acks cumulatively (AckPolicy.All): one ack per finished batch
   * instead of one per message.
   */
  ordered: boolean;
  /** delay before a failed message is redelivered, doubled per delivery */
  retryBaseDelayMs?: number;
}

export interface RunnerDeps {
  bus: Bus;
  metrics: Metrics;
  log: Logger;
  /** required when `ordered` */
  lock?: LeaderLock;
}

/**
 * Runs one durable pull consumer: pulls messages, groups what has arrived into batches, lets the
 * handler work on them with bounded concurrency, then acks (after the handler's commit) or naks.
 * `stop()` stops pulling, finishes every message already received, and resolves once all are acked
 * or nakked; calling it twice returns the same promise.
 */
export class ConsumerRunner {
  private readonly consumer: DurableSpec;
  /** ordered runners: what may be acked so far */
  private readonly watermark = new AckWatermark();
  /** ordered runners, per lane: a batch was left unfinished while stopping, so no later one may run */
  private readonly abandoned: boolean[];
  /**
   * Ordered runners: false once the leader lock is lost. The next leader recreates the consumer
   * under the same name, and a cumulative ack from this process arriving there would carry this
   * consumer's delivery sequence, which nats-server 2.9 would take as the new one's ack floor and
   * then ignore the new leader's own acks until its deliveries caught up. What this process
   * commits meanwhile is skipped as already applied when the new leader gets it again.
   */
  private acking = false;
  private pulling?: Promise<void>;
  private pullStopped = true;
  private roomFreed?: () => void;
  private inFlightMessages = 0;
  /** unordered runners: handled messages whose acks wait for their commit to reach the disk */
  private readonly awaitingDurability = new Set<Promise<void>>();
  /** per lane: messages received and not yet in a batch */
  private readonly buffers: JsMsg[][];
  /** per lane: batches running */
  private readonly running: number[];
  private buffered = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private flushScheduled = false;
  private stopping?: Promise<void>;
  private stopRequested = false;
  private wakeStop?: () => void;
  private leading?: Promise<void>;

  constructor(
    private readonly options: RunnerOptions,
    private readonly deps: RunnerDeps,
  ) {
    if (options.ordered && !deps.lock) throw new Error(`ordered pipeline ${options.pipeline} needs a leader lock`);
    this.consumer = { ...options.consumer, ackPolicy: options.ordered ? AckPolicy.All : AckPolicy.Explicit };
    const lanes = options.lanes ?? 1;
    this.buffers = Array.from({ length: lanes }, () => []);
    this.running = new Array<number>(lanes).fill(0);
    this.abandoned = new Array<boolean>(lanes).fill(false);
  }

  /** Every message of one subject (so of one key) goes to the same lane. */
  private laneOf(msg: JsMsg): number {
    if (this.buffers.length === 1) return 0;
    // FNV-1a: cheap, and spreads similar subjects (customer ids differing in a digit) evenly
    let hash = 0x811c9dc5;
    const subject = msg.subject;
    for (let i = 0; i < subject.length; i++) hash = Math.imul(hash ^ subject.charCodeAt(i), 0x01000193);
    return (hash >>> 0) % this.buffers.length;
  }

  private get stream(): string {
    return this.consumer.stream;
  }

  private get durable(): string {
    return this.consumer.durable;
  }

  async start(): Promise<void> {
    await ensureDurable(this.deps.bus.jsm, this.consumer);
    if (this.options.ordered) {
      this.leading = this.lead(this.deps.lock!);
    } else {
      await this.openConsume();
    }
  }

  /** Ordered runners: consume while leading; on losing the lock, stop and stand by again. */
  private async lead(lock: LeaderLock): Promise<void> {
    const stopped = new Promise<void>((resolve) => (this.wakeStop = resolve));
    while (!this.stopRequested) {
      if (!(await lock.acquire(() => this.stopRequested))) return;
      try {
        await this.rewindToAckFloor();
        await this.openConsume();
        this.deps.log.info({ pipeline: this.options.pipeline }, "leading");
        await Promise.race([stopped, lock.lost.then(() => (this.acking = false))]);
      } catch (err) {
        this.deps.log.error({ err, pipeline: this.options.pipeline }, "leading failed; retrying");
      }
      await this.closeAndDrain();
      await lock.release();
      if (!this.stopRequested) this.deps.log.warn({ pipeline: this.options.pipeline }, "leadership lost; standing by");
    }
  }

  /**
   * Messages a previous leader took but never acked stay pending until ack_wait expires, while new
   * ones would be delivered first. Recreating the consumer at its ack floor delivers everything
   * after the floor again, in stream order; what was committed but not acked is skipped by the
   * handler's own idempotence. A consumer made with explicit acks (before cumulative ones) is
   * recreated the same way, since the server cannot change a consumer's ack policy.
   */
  private async rewindToAckFloor(): Promise<void> {
    const info = await this.deps.bus.jsm.consumers.info(this.stream, this.durable);
    if (info.num_ack_pending === 0 && info.config.ack_policy === this.consumer.ackPolicy) return;
    const startSeq = info.ack_floor.stream_seq + 1;
    this.deps.log.info(
      { pipeline: this.options.pipeline, startSeq, ackPending: info.num_ack_pending, ackPolicy: [info.config.ack_policy, this.consumer.ackPolicy] },
      "recreating consumer at its ack floor",
    );
    await this.deps.bus.jsm.consumers.delete(this.stream, this.durable);
    await ensureDurable(this.deps.bus.jsm, { ...this.consumer, startSeq });
  }

  /**
   * Pulls with bounded fetch requests, each issued only when the runner has room for a full batch
   * more. The client, not the server's max_ack_pending, is the backpressure: a consumer that hits
   * max_ack_pending is answered 409 and stalls until heartbeats are missed, so it never gets there.
   * Every request ends by itself (count reached or FETCH_EXPIRES_MS), so a stop handles everything
   * delivered and leaves nothing delivered-but-unseen behind.
   */
  private async openConsume(): Promise<void> {
    const consumer = await this.deps.bus.js.consumers.get(this.stream, this.durable);
    this.watermark.reset();
    this.abandoned.fill(false);
    this.acking = true;
    this.pullStopped = false;
    this.pulling = (async () => {
      while (!this.pullStopped) {
        await this.roomForBatch();
        if (this.pullStopped) break;
        try {
          const messages = await consumer.fetch({ max_messages: this.options.batchSize, expires: FETCH_EXPIRES_MS });
          void this.watchStatus(messages);
          for await (const msg of messages) {
            if (msg.info.deliveryCount > 1) this.deps.metrics.redelivered.inc({ pipeline: this.options.pipeline });
            // Every message says how many are still waiting behind it; asking the server instead
            // (consumer INFO while pull requests wait) stalls deliveries on nats-server 2.9.
            this.deps.metrics.consumerPending.set({ pipeline: this.options.pipeline }, msg.info.pending);
            if (this.options.ordered) this.watermark.add(msg);
            const lane = this.buffers[this.laneOf(msg)]!;
            lane.push(msg);
            this.buffered++;
            this.scheduleFlush(lane.length);
          }
        } catch (err) {
          this.deps.metrics.consumerNotifications.inc({ pipeline: this.options.pipeline, type: "fetch_failed" });
          this.deps.log.warn({ err, pipeline: this.options.pipeline }, "pull request failed; retrying");
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
  }

  /**
   * Resolves when the messages held here (buffered or in a batch) leave room for one more batch,
   * and, for cumulative acks, when the messages not yet acked (finished ones wait behind a slower
   * lane's batch) stay within half the consumer's max_ack_pending.
   */
  private async roomForBatch(): Promise<void> {
    const { batchSize } = this.options;
    const limit = batchSize * (this.options.maxInFlightBatches * this.buffers.length + 1);
    const full = () =>
      this.buffered + this.inFlightMessages + batchSize > limit || (this.options.ordered && this.watermark.size + batchSize > this.consumer.maxAckPending / 2);
    while (!this.pullStopped && full()) {
      await new Promise<void>((resolve) => (this.roomFreed = resolve));
    }
  }

  /** Stops pulling, then handles every message received until all are acked, nakked or dead-lettered. */
  private async closeAndDrain(): Promise<void> {
    this.pullStopped = true;
    this.roomFreed?.();
    await this.pulling;
    this.flush();
    while (this.inFlight.size > 0 || this.buffered > 0) {
      await Promise.allSettled([...this.inFlight]);
      this.flush();
    }
    await Promise.allSettled([...this.awaitingDurability]);
  }

  private scheduleFlush(laneLength: number): void {
    if (laneLength >= this.options.batchSize) {
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
    this.buffers.forEach((buffer, lane) => {
      if (this.abandoned[lane]) {
        // unacked, these come back in order when the next leader rewinds to the ack floor
        this.buffered -= buffer.length;
        buffer.length = 0;
        return;
      }
      while (buffer.length > 0 && this.running[lane]! < this.options.maxInFlightBatches) {
        const batch = buffer.splice(0, this.options.batchSize);
        this.buffered -= batch.length;
        this.inFlightMessages += batch.length;
        this.running[lane]!++;
        this.countAckPending();
        const run = this.runBatch(batch, lane).finally(() => {
          this.inFlight.delete(run);
          this.running[lane]!--;
          this.inFlightMessages -= batch.length;
          this.countAckPending();
          this.roomFreed?.();
          this.flush();
        });
        this.inFlight.add(run);
      }
    });
  }

  /** messages this process holds unacked: buffered, in a batch, or waiting for their commit to reach the disk */
  private countAckPending(): void {
    this.deps.metrics.consumerAckPending.set({ pipeline: this.options.pipeline }, this.inFlightMessages + this.buffered);
  }

  private reply({ subject, value }: Reply): void {
    if (!this.deps.bus.replies.answerLocally(subject, value)) this.deps.bus.nc.publish(subject, encodeJson(value));
  }

  private async runBatch(batch: JsMsg[], lane: number): Promise<void> {
    const { pipeline } = this.options;
    const started = performance.now();
    const outcomes = await this.handle(batch);
    const afterFlush = new Map<Promise<void>, JsMsg[]>();
    for (let i = 0; i < batch.length; i++) {
      const msg = batch[i]!;
      const outcome = outcomes[i] ?? { kind: "retry", error: "handler returned no outcome" };
      this.deps.metrics.consumed.inc({ pipeline, outcome: outcome.kind });
      if (outcome.kind !== "retry" && outcome.reply) this.reply(outcome.reply);
      if (this.options.ordered) {
        // an ack outcome settles without an await: a batch holds thousands of them
        if (outcome.kind === "ack") this.watermark.finished(msg);
        else await this.settleOrdered(msg, outcome, lane);
      } else if (outcome.kind === "ack") {
        if (!outcome.durable) msg.ack();
        else if (afterFlush.has(outcome.durable)) afterFlush.get(outcome.durable)!.push(msg);
        else afterFlush.set(outcome.durable, [msg]);
      } else if (outcome.kind === "invalid") {
        await this.deadLetterNow(msg, outcome.error);
      } else if (msg.info.deliveryCount >= this.options.consumer.maxDeliver) {
        // the last delivery failed too: dead-letter it here, so its consumer's ack floor moves on
        await this.deadLetterNow(msg, outcome.error);
      } else {
        await this.recordFailure(msg, outcome.error);
        msg.nak(outcome.delayMs ?? this.retryDelay(msg.info.deliveryCount));
      }
    }
    if (this.options.ordered) {
      const last = this.watermark.advance();
      if (this.acking) last?.ack();
    }
    for (const [durable, msgs] of afterFlush) this.ackWhenDurable(durable, msgs);
    this.deps.metrics.batchSize.observe({ pipeline }, batch.length);
    this.deps.metrics.batchDuration.observe({ pipeline }, (performance.now() - started) / 1000);
  }

  /**
   * Acks once the handler's commit is on disk, or naks (to be handled again, idempotently) if that
   * is unknown. Until then the messages count as in flight: pulling leaves room for them, and a
   * stop waits for them.
   */
  private ackWhenDurable(durable: Promise<void>, msgs: JsMsg[]): void {
    this.inFlightMessages += msgs.length;
    const settled = durable
      .then(
        () => {
          for (const msg of msgs) msg.ack();
        },
        (err) => {
          this.deps.log.warn({ err, pipeline: this.options.pipeline, messages: msgs.length }, "could not confirm a commit on disk; redelivering");
          for (const msg of msgs) msg.nak(this.retryDelay(msg.info.deliveryCount));
        },
      )
      .finally(() => {
        this.awaitingDurability.delete(settled);
        this.inFlightMessages -= msgs.length;
        this.countAckPending();
        this.roomFreed?.();
      });
    this.awaitingDurability.add(settled);
  }

  /**
   * Ordered runners, a message not acked by its handler: a dead-lettered one is finished and waits
   * for the cumulative ack. A retry outcome here means the batch failed while stopping: its lane
   * stops, and the next leader gets these messages again when it rewinds to the ack floor. Never a
   * nak or a term: under AckPolicy.All either would move the ack floor past messages other lanes
   * have not finished.
   */
  private async settleOrdered(msg: JsMsg, outcome: Exclude<Outcome, { kind: "ack" }>, lane: number): Promise<void> {
    if (outcome.kind === "invalid" && (await this.deadLetterOrdered(msg, outcome.error))) this.watermark.finished(msg);
    else this.abandoned[lane] = true;
  }

  /** The handler's outcomes; for an ordered runner, a retry outcome fails the batch (retried in place). */
  private async callHandler(batch: JsMsg[]): Promise<Outcome[]> {
    const outcomes = await this.options.handler(batch);
    const retry = this.options.ordered ? outcomes.find((o) => o.kind === "retry") : undefined;
    if (retry?.kind === "retry") throw new Error(retry.error);
    return outcomes;
  }

  /**
   * Runs the handler. Unordered: a throw becomes a retry of every message (nak). Ordered: the batch
   * is retried in place; for as long as the database is unreachable (a transient error), and up to
   * max_deliver attempts for any other error, after which its messages are retried (and, failing
   * again, dead-lettered) one by one.
   */
  private async handle(batch: JsMsg[]): Promise<Outcome[]> {
    let error = "";
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.callHandler(batch);
      } catch (err) {
        error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        this.deps.log.error({ err, pipeline: this.options.pipeline, size: batch.length, attempt }, "batch failed");
        const again = this.options.ordered && !this.stopRequested && (isTransient(err) || attempt < this.consumer.maxDeliver);
        if (!again) break;
        for (const msg of batch) msg.working(); // restart ack_wait while we wait
        await new Promise((r) => setTimeout(r, this.retryDelay(attempt)));
      }
    }
    if (this.options.ordered && !this.stopRequested) {
      if (batch.length === 1) return [{ kind: "invalid", error }];
      // Thousands of one-message transactions can outlast ack_wait, and none is acked before the
      // last ends (runBatch settles the batch): keep the whole batch ours meanwhile.
      const outcomes: Outcome[] = [];
      let touched = performance.now();
      for (const msg of batch) {
        if (performance.now() - touched > this.consumer.ackWaitMs / 3) {
          for (const m of batch) m.working();
          touched = performance.now();
        }
        outcomes.push(...(await this.handleAlone(msg)));
      }
      return outcomes;
    }
    return batch.map(() => ({ kind: "retry", error }));
  }

  /** One message of a failed ordered batch, on its own: a poison message is found and dead-lettered. */
  private async handleAlone(msg: JsMsg): Promise<Outcome[]> {
    try {
      return await this.callHandler([msg]);
    } catch (err) {
      return [{ kind: "invalid", error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }];
    }
  }

  private retryDelay(attempt: number): number {
    return Math.min((this.options.retryBaseDelayMs ?? 500) * 2 ** (attempt - 1), 30_000);
  }

  /** Copies a message that will not be processed to the DLQ and terminates it; if the copy fails, naks it. */
  private async deadLetterNow(msg: JsMsg, error: string): Promise<void> {
    if (await this.copyToDeadLetters(msg, error)) {
      msg.term(error.slice(0, 200));
    } else {
      await this.recordFailure(msg, error);
      msg.nak(this.retryDelay(msg.info.deliveryCount));
    }
  }

  /** Ordered runners: copies a message to the DLQ, trying again until it is copied or the runner stops. */
  private async deadLetterOrdered(msg: JsMsg, error: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (await this.copyToDeadLetters(msg, error)) return true;
      if (this.stopRequested) return false;
      msg.working();
      await new Promise((r) => setTimeout(r, this.retryDelay(attempt)));
    }
  }

  private async copyToDeadLetters(msg: JsMsg, error: string): Promise<boolean> {
    try {
      await deadLetter(
        { publisher: this.deps.bus.publisher, names: this.deps.bus.names, metrics: this.deps.metrics, log: this.deps.log },
        {
          stream: msg.info.stream,
          seq: msg.seq,
          subject: msg.subject,
          data: msg.data,
          headers: msg.headers,
          failure: { error, consumer: this.durable, deliveries: msg.info.deliveryCount, at: new Date().toISOString() },
        },
      );
      return true;
    } catch (err) {
      this.deps.log.warn({ err, pipeline: this.options.pipeline }, "could not copy a message to the dead-letter stream; trying again");
      return false;
    }
  }

  private async recordFailure(msg: JsMsg, error: string): Promise<void> {
    const record: FailureRecord = {
      error,
      consumer: this.durable,
      deliveries: msg.info.deliveryCount,
      at: new Date().toISOString(),
    };
    try {
      await this.deps.bus.failures.put(failureKey(this.stream, msg.seq), JSON.stringify(record));
    } catch (err) {
      this.deps.log.warn({ err }, "could not record message failure");
    }
  }

  private async watchStatus(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      // the routine life of a pull request: heartbeats, a request expiring with messages left over
      if (status.type === "heartbeat" || status.type === "next" || status.type === "debug" || status.type === "discard") continue;
      this.deps.metrics.consumerNotifications.inc({ pipeline: this.options.pipeline, type: status.type });
      this.deps.log.warn({ pipeline: this.options.pipeline, status }, "consumer status");
    }
  }

  /**
   * Stops pulling, finishes every message received (the last pull request ends by itself within
   * FETCH_EXPIRES_MS), then resolves. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopRequested = true;
      if (this.leading) {
        this.wakeStop?.();
        await this.leading;
      } else {
        await this.closeAndDrain();
      }
      await this.options.handler.close?.();
    })();
    return this.stopping;
  }
}

// Connection-level failures (the database restarting, a deadlock victim): waiting helps. Anything
// else (a bug, a constraint) will fail the same way however often it is retried.
const TRANSIENT_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "57P01", "57P02", "57P03", "08000", "08003", "08006", "53300", "40001", "40P01"]);

function isTransient(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown };
  return (typeof e?.code === "string" && TRANSIENT_CODES.has(e.code)) || e?.name === "KnexTimeoutError";
}
