import type { JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { decodeJson } from "./codec.ts";
import { failureKey, type FailureRecord, type Outcome } from "./consumer-runner.ts";
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
 * Handles the server's max-deliveries advisories: copies the message that ran out of deliveries,
 * with the last error its consumer recorded, into the DLQ stream.
 */
export function deadLetterHandler(deps: {
  jsm: JetStreamManager;
  failures: KV;
  publisher: Publisher;
  names: StreamNames;
  metrics: Metrics;
  log: Logger;
}) {
  return async (batch: readonly JsMsg[]): Promise<Outcome[]> => {
    const outcomes: Outcome[] = [];
    for (const msg of batch) {
      const advisory = decodeJson(msg.data);
      if (!isAdvisory(advisory)) {
        outcomes.push({ kind: "invalid", error: "not a max-deliveries advisory" });
        continue;
      }
      outcomes.push(await moveToDlq(advisory, deps));
    }
    return outcomes;
  };
}

async function moveToDlq(
  advisory: MaxDeliveriesAdvisory,
  deps: { jsm: JetStreamManager; failures: KV; publisher: Publisher; names: StreamNames; metrics: Metrics; log: Logger },
): Promise<Outcome> {
  const { stream, consumer, stream_seq: seq } = advisory;
  const original = await deps.jsm.streams.getMessage(stream, { seq }).catch(() => null);
  const entry = await deps.failures.get(failureKey(stream, seq));
  const failure = entry ? (decodeJson(entry.value) as FailureRecord | undefined) : undefined;
  const headers: Record<string, string> = {
    [DLQ_HEADERS.stream]: stream,
    [DLQ_HEADERS.seq]: String(seq),
    [DLQ_HEADERS.subject]: original?.subject ?? "",
    [DLQ_HEADERS.consumer]: consumer,
    [DLQ_HEADERS.deliveries]: String(advisory.deliveries),
    // header values are single-line
    [DLQ_HEADERS.error]: (failure?.error ?? "no error recorded (the consumer crashed or timed out)").replace(/[\r\n]+/g, " ").slice(0, 1000),
    [DLQ_HEADERS.failedAt]: failure?.at ?? new Date().toISOString(),
  };
  const originalMsgId = original?.header?.get("Nats-Msg-Id");
  if (originalMsgId) headers[DLQ_HEADERS.originalMsgId] = originalMsgId;
  for (const [key, values] of original?.header ?? []) {
    if (key !== "Nats-Msg-Id" && !key.startsWith("Tidecast-Dlq-") && values[0] !== undefined) headers[key] = values[0];
  }
  // The original bytes are the payload: re-publishing a dead letter is publishing it as it was.
  await deps.publisher.publishBytes("dlq", deps.names.dlqSubject(stream, consumer), original?.data ?? new Uint8Array(), {
    msgId: `dlq:${stream}:${seq}`,
    headers,
  });
  deps.metrics.deadLettered.inc({ stream, consumer });
  deps.log.warn({ stream, consumer, seq, error: headers[DLQ_HEADERS.error] }, "message dead-lettered");
  return { kind: "ack" };
}
