import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
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

/**
 * Publishes JSON to JetStream and waits for the PubAck, recording metrics per stream.
 *
 * Publishes wait for the end of the event-loop turn and leave together. nats.js writes to its socket
 * once per microtask checkpoint, and each HTTP request runs in its own I/O callback, so concurrent
 * requests' publishes would otherwise each be one socket write, and one wakeup of nats-server to
 * read it and to answer it (a PubAck write per read). Sent together they share them, at the cost of
 * one turn (setImmediate runs right after the poll phase that read the requests).
 */
export class Publisher {
  /** sends waiting for the end of this turn */
  private turn: Array<() => void> = [];

  constructor(
    private readonly js: JetStreamClient,
    private readonly metrics: Metrics,
  ) {}

  publish(streamLabel: string, subject: string, payload: unknown, options: PublishOptions): Promise<PublishResult> {
    return this.publishBytes(streamLabel, subject, encodeJson(payload), options);
  }

  async publishBytes(streamLabel: string, subject: string, data: Uint8Array, options: PublishOptions): Promise<PublishResult> {
    const started = performance.now();
    let hdrs: MsgHdrs | undefined;
    if (options.headers) {
      hdrs = natsHeaders();
      for (const [k, v] of Object.entries(options.headers)) hdrs.set(k, v);
    }
    try {
      const ack = await this.atEndOfTurn(() => this.js.publish(subject, data, { msgID: options.msgId, headers: hdrs }));
      this.metrics.published.inc({ stream: streamLabel, outcome: ack.duplicate ? "duplicate" : "ok" });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      this.metrics.published.inc({ stream: streamLabel, outcome: "error" });
      throw err;
    } finally {
      this.metrics.publishDuration.observe({ stream: streamLabel }, (performance.now() - started) / 1000);
    }
  }

  private atEndOfTurn<T>(send: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.turn.push(() => void send().then(resolve, reject)) === 1) setImmediate(this.sendTurn);
    });
  }

  private readonly sendTurn = (): void => {
    const turn = this.turn;
    this.turn = [];
    for (const send of turn) send();
  };
}
