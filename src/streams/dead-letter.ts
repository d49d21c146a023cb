import type { JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import type { KV } from "@nats-io/kv";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { decodeJson } from "./codec.ts";
import type { StreamNames } from "./names.ts";
import type { Publisher } from "./publisher.ts";

/** Headers a dead letter carries beside the original payload, so it can be inspected and re-published. */
export const DLQ_HEADERS = {
  stream: "Tidecast-Dlq-Stream",
  seq: "Tidecast-Dlq-Seq",
  subject: "Tidecast-Dlq-Subject",
  consumer: "Tidecast-Dlq-Consumer",
  deliveries: "Tidecast-Dlq-Deliveries",
  error: "Tidecast-Dlq-Error",
  failedAt: "Tidecast-Dlq-Failed-At",
  originalMsgId: "Tidecast-Dlq-Original-Msg-Id",
} as const;

/** Why a message was given up on; the runner records the last one of each failing message. */
export interface FailureRecord {
  error: string;
  consumer: string;
  deliveries: number;
  at: string;
}

export interface DeadLetterDeps {
  publisher: Publisher;
  names: StreamNames;
  metrics: Metrics;
  log: Logger;
}

export interface DeadLetter {
  stream: string;
  seq: number;
  /** the original subject; empty when the message is gone from its stream */
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  failure: FailureRecord;
}

export function failureKey(stream: string, seq: number): string {
  return `${stream}.${seq}`;
}

/**
 * Copies a message that will never be processed into `dlq.<stream>.<consumer>`: the original bytes
 * as payload, the original headers, and the failure in `Tidecast-Dlq-*` headers. The dead letter's
 * id is derived from the stream position, so copying the same message twice stores it once.
 */
export async function deadLetter(deps: DeadLetterDeps, letter: DeadLetter): Promise<void> {
  const { stream, seq, failure } = letter;
  const headers: Record<string, string> = {};
  for (const [key, values] of letter.headers ?? []) {
    if (key !== "Nats-Msg-Id" && !key.startsWith("Tidecast-Dlq-") && values[0] !== undefined) headers[key] = values[0];
  }
  const originalMsgId = letter.headers?.get("Nats-Msg-Id");
  if (originalMsgId) headers[DLQ_HEADERS.originalMsgId] = originalMsgId;
  Object.assign(headers, {
    [DLQ_HEADERS.stream]: stream,
    [DLQ_HEADERS.seq]: String(seq),
    [DLQ_HEADERS.subject]: letter.subject,
    [DLQ_HEADERS.consumer]: failure.consumer,
    [DLQ_HEADERS.deliveries]: String(failure.deliveries),
    // header values are single-line
    [DLQ_HEADERS.error]: failure.error.replace(/[\r\n]+/g, " ").slice(0, 1000),
    [DLQ_HEADERS.failedAt]: failure.at,
  });
  await deps.publisher.publishBytes("dlq", deps.names.dlqSubject(stream, failure.consumer), letter.data, {
    msgId: `dlq:${stream}:${seq}`,
    headers,
  });
  deps.metrics.deadLettered.inc({ stream, consumer: failure.consumer });
  deps.log.warn({ stream, consumer: failure.consumer, seq, error: headers[DLQ_HEADERS.error] }, "message dead-lettered");
}

interface MaxDeliveriesAdvisory {
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

function isAdvisory(value: unknown): value is MaxDeliveriesAdvisory {
  const v = value as MaxDeliveriesAdvisory;
  return typeof v === "object" && v !== null && typeof v.stream === "string" && typeof v.stream_seq === "number";
}

/**
 * Handles the server's max-deliveries advisories: a message whose retries ran out (or whose
 * consumer kept crashing on it) is copied, with the last error its consumer recorded, to the DLQ.
 */
export function deadLetterHandler(deps: DeadLetterDeps & { jsm: JetStreamManager; failures: KV }) {
  return async (batch: readonly JsMsg[]) => {
    const outcomes = [];
    for (const msg of batch) {
      const advisory = decodeJson(msg.data);
      if (!isAdvisory(advisory)) {
        outcomes.push({ kind: "invalid" as const, error: "not a max-deliveries advisory" });
        continue;
      }
      const { stream, consumer, stream_seq: seq, deliveries } = advisory;
      const original = await deps.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      const entry = await deps.failures.get(failureKey(stream, seq));
      const recorded = entry ? (decodeJson(entry.value) as FailureRecord | undefined) : undefined;
      await deadLetter(deps, {
        stream,
        seq,
        subject: original?.subject ?? "",
        data: original?.data ?? new Uint8Array(),
        headers: original?.header,
        failure: recorded ?? {
          error: "no error recorded: the consumer crashed or did not answer within ack_wait",
          consumer,
          deliveries,
          at: new Date().toISOString(),
        },
      });
      outcomes.push({ kind: "ack" as const });
    }
    return outcomes;
  };
}
