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

/** A dead letter as an operator sees it. */
export interface DeadLetterView {
  id: number;
  stream: string;
  stream_seq: number;
  subject: string;
  consumer: string;
  deliveries: number;
  error: string;
  failed_at: string;
  original_msg_id: string | null;
  /** the original body: parsed JSON when it is JSON, else the text */
  payload: unknown;
}

function view(id: number, msg: { header: MsgHdrs; data: Uint8Array }): DeadLetterView {
  const h = (k: string) => msg.header.get(k);
  const text = new TextDecoder().decode(msg.data);
  const json = decodeJson(msg.data);
  return {
    id,
    stream: h(DLQ_HEADERS.stream),
    stream_seq: Number(h(DLQ_HEADERS.seq)),
    subject: h(DLQ_HEADERS.subject),
    consumer: h(DLQ_HEADERS.consumer),
    deliveries: Number(h(DLQ_HEADERS.deliveries)),
    error: h(DLQ_HEADERS.error),
    failed_at: h(DLQ_HEADERS.failedAt),
    original_msg_id: h(DLQ_HEADERS.originalMsgId) || null,
    payload: json === undefined ? text : json,
  };
}

/** Dead letters still waiting, oldest first (a retried one is removed from the DLQ stream). */
export async function listDeadLetters(
  jsm: JetStreamManager,
  names: StreamNames,
  query: { consumer?: string; limit: number; after?: number },
): Promise<{ items: DeadLetterView[]; total: number }> {
  const info = await jsm.streams.info(names.dlq);
  const items: DeadLetterView[] = [];
  let seq = Math.max(info.state.first_seq, (query.after ?? 0) + 1);
  while (items.length < query.limit && seq <= info.state.last_seq) {
    const msg = await jsm.streams.getMessage(names.dlq, { seq }).catch(() => null);
    if (msg) {
      const letter = view(seq, msg);
      if (!query.consumer || letter.consumer === query.consumer) items.push(letter);
    }
    seq++;
  }
  return { items, total: info.state.messages };
}

export class DeadLetterNotFoundError extends Error {
  override name = "DeadLetterNotFoundError";
}

/**
 * Publishes a dead letter again, as it was, to its original subject, then removes it from the DLQ.
 * The re-publish has its own message id (`retry:<dlq id>`), so retrying the same letter twice in
 * the dedup window publishes it once.
 */
export async function retryDeadLetter(
  deps: { jsm: JetStreamManager; publisher: Publisher; names: StreamNames },
  id: number,
): Promise<{ id: number; subject: string; seq: number; duplicate: boolean }> {
  const msg = await deps.jsm.streams.getMessage(deps.names.dlq, { seq: id }).catch(() => null);
  if (!msg) throw new DeadLetterNotFoundError(`dead letter ${id} not found`);
  const letter = view(id, msg);
  if (!letter.subject) throw new DeadLetterNotFoundError(`dead letter ${id} has no original subject to re-publish to`);
  const headers: Record<string, string> = {};
  for (const [key, values] of msg.header) {
    if (!key.startsWith("Tidecast-Dlq-") && key !== "Nats-Msg-Id" && values[0] !== undefined) headers[key] = values[0];
  }
  const ack = await deps.publisher.publishBytes("retry", letter.subject, msg.data, { msgId: `retry:${deps.names.dlq}:${id}`, headers });
  await deps.jsm.streams.deleteMessage(deps.names.dlq, id);
  return { id, subject: letter.subject, seq: ack.seq, duplicate: ack.duplicate };
}
