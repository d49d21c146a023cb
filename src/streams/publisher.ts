import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
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

/** Publishes JSON to JetStream and waits for the PubAck, recording metrics per stream. */
export class Publisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly metrics: Metrics,
  ) {}

  publish(streamLabel: string, subject: string, payload: unknown, options: PublishOptions): Promise<PublishResult> {
    return this.publishBytes(streamLabel, subject, encodeJson(payload), options);
  }

  async publishBytes(streamLabel: string, subject: string, data: Uint8Array, options: PublishOptions): Promise<PublishResult> {
    const started = performance.now();
    let hdrs;
    if (options.headers) {
      hdrs = natsHeaders();
      for (const [k, v] of Object.entries(options.headers)) hdrs.set(k, v);
    }
    try {
      const ack = await this.js.publish(subject, data, { msgID: options.msgId, headers: hdrs });
      this.metrics.published.inc({ stream: streamLabel, outcome: ack.duplicate ? "duplicate" : "ok" });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      this.metrics.published.inc({ stream: streamLabel, outcome: "error" });
      throw err;
    } finally {
      this.metrics.publishDuration.observe({ stream: streamLabel }, (performance.now() - started) / 1000);
    }
  }
}
