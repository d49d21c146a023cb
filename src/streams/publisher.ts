import { JetStreamApiError } from "@nats-io/jetstream";
import { createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Metrics } from "../metrics.ts";
import { encodeJson } from "./codec.ts";

export interface PublishOptions {
  /** Nats-Msg-Id: the server drops a second message with the same id inside the dedup window */
  msgId: string;
  headers?: Record<string, string>;
}

export interface PublishResult {
  seq: number;
  duplicate: boolean;
}

export class PublishTimeoutError extends Error {
  override name = "PublishTimeoutError";
}

interface Waiting {
  resolve: (ack: PublishResult) => void;
  reject: (err: Error) => void;
  subject: string;
  sentAt: number;
}

/** How long a publish waits for its PubAck; the JetStream client's own default. */
const ACK_TIMEOUT_MS = 5_000;

/**
 * Publishes JSON to JetStream and waits for the PubAck, recording metrics per stream.
 *
 * A JetStream publish is a core publish whose reply subject receives the PubAck. `js.publish`
 * makes each one a request: a timer, a promise and a mux entry per message, and, once the ack has
 * resolved it, a `RequestError("cancelled")` whose stack trace alone cost ~2 % of the sync
 * prediction path's CPU. Here every PubAck comes to one wildcard subscription and is routed by id,
 * and one sweep a second expires the publishes that got none.
 *
 * Publishes also wait for the end of the event-loop turn and leave together. nats.js writes to its
 * socket once per microtask checkpoint, and each HTTP request runs in its own I/O callback, so
 * concurrent requests' publishes would otherwise each be one socket write, and one wakeup of
 * nats-server to read it and to answer it (a PubAck write per read). Sent together they share them,
 * at the cost of one turn (setImmediate runs right after the poll phase that read the requests).
 */
export class Publisher {
  private readonly inbox = createInbox();
  private readonly waiting = new Map<string, Waiting>();
  private readonly sub: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private nextId = 0;
  /** sends waiting for the end of this turn */
  private turn: Array<() => void> = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly metrics: Metrics,
    private readonly ackTimeoutMs = ACK_TIMEOUT_MS,
  ) {
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (err, msg) => (err ? undefined : this.settle(msg)) });
    this.sweep = setInterval(() => this.expire(), Math.min(1_000, ackTimeoutMs)).unref();
  }

  publish(streamLabel: string, subject: string, payload: unknown, options: PublishOptions): Promise<PublishResult> {
    return this.publishBytes(streamLabel, subject, encodeJson(payload), options);
  }

  async publishBytes(streamLabel: string, subject: string, data: Uint8Array, options: PublishOptions): Promise<PublishResult> {
    const started = performance.now();
    try {
      const ack = await this.atEndOfTurn(subject, data, options);
      this.metrics.published.inc({ stream: streamLabel, outcome: ack.duplicate ? "duplicate" : "ok" });
      return ack;
    } catch (err) {
      this.metrics.published.inc({ stream: streamLabel, outcome: "error" });
      throw err;
    } finally {
      this.metrics.publishDuration.observe({ stream: streamLabel }, (performance.now() - started) / 1000);
    }
  }

  /** Fails the publishes still waiting for an ack; the connection's drain has flushed the rest. */
  close(): void {
    clearInterval(this.sweep);
    this.sub.unsubscribe();
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      w.reject(new PublishTimeoutError(`no PubAck for ${w.subject}: the connection closed`));
    }
  }

  private atEndOfTurn(subject: string, data: Uint8Array, options: PublishOptions): Promise<PublishResult> {
    return new Promise<PublishResult>((resolve, reject) => {
      const send = () => {
        const id = (this.nextId++).toString(36);
        const hdrs = natsHeaders();
        hdrs.set("Nats-Msg-Id", options.msgId);
        for (const [k, v] of Object.entries(options.headers ?? {})) hdrs.set(k, v);
        try {
          this.nc.publish(subject, data, { reply: `${this.inbox}.${id}`, headers: hdrs });
        } catch (err) {
          reject(err as Error); // a closed connection, or a payload over max_payload
          return;
        }
        this.waiting.set(id, { resolve, reject, subject, sentAt: performance.now() });
      };
      if (this.turn.push(send) === 1) setImmediate(this.sendTurn);
    });
  }

  private readonly sendTurn = (): void => {
    const turn = this.turn;
    this.turn = [];
    for (const send of turn) send();
  };

  private settle(msg: Msg): void {
    const id = msg.subject.slice(this.inbox.length + 1);
    const w = this.waiting.get(id);
    if (!w) return; // already expired
    this.waiting.delete(id);
    if (msg.headers?.hasError) {
      // 503 "no responders": no stream captures the subject
      w.reject(new Error(`no stream takes ${w.subject} (${msg.headers.code} ${msg.headers.description})`));
      return;
    }
    let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: { code: number; err_code?: number; description: string } };
    try {
      ack = msg.json();
    } catch {
      w.reject(new Error(`unreadable PubAck for ${w.subject}`));
      return;
    }
    if (ack.error) w.reject(new JetStreamApiError(ack.error as ConstructorParameters<typeof JetStreamApiError>[0]));
    else if (!ack.stream || typeof ack.seq !== "number") w.reject(new Error(`invalid PubAck for ${w.subject}`));
    else w.resolve({ seq: ack.seq, duplicate: ack.duplicate === true });
  }

  private expire(): void {
    const before = performance.now() - this.ackTimeoutMs;
    for (const [id, w] of this.waiting) {
      if (w.sentAt > before) break; // in send order, so the rest are younger
      this.waiting.delete(id);
      w.reject(new PublishTimeoutError(`no PubAck for ${w.subject} within ${this.ackTimeoutMs} ms`));
    }
  }
}
