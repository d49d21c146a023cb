import type { JsMsg } from "@nats-io/jetstream";
import type { Knex } from "knex";
import { v5 as uuidv5 } from "uuid";
import { encodeBatch, presentPrediction, scoreWithOutputs, type LoadedModel, type PredictionOutput } from "../../src/models/index.ts";
import { ASYNC_COMMIT, DurableCommits } from "../../src/db/durable-commits.ts";
import { decodeJson, REPLY_HEADER, type BatchHandler, type Outcome } from "../../src/streams/index.ts";
import { messageIdOf } from "../messages.ts";
import type { PipelineDeps } from "../types.ts";
import { PredictRequestSchema, type PredictReply, type PredictRequest } from "../../src/predictions/index.ts";
import { EventSubscribers, notice, noticePublisher, type Notice } from "../../src/webhooks/index.ts";

/**
 * How long an answered request's ack may wait for the commit that stored it to reach the disk: one
 * WAL flush per interval for all the batches committed meanwhile, where a synchronous commit per
 * batch cost a flush each (at 1,000 requests a second, ~600) on every request's path.
 */
const ACK_FLUSH_INTERVAL_MS = 50;

// Namespace for prediction ids derived from a stream position (producers that sent none).
const PREDICTION_NS = "6f1c1c9e-4a53-4f0a-9a53-2f4f6c1b7e10";

interface Item {
  msg: JsMsg;
  index: number;
  request: PredictRequest;
  id: string;
  modelName: string;
  replyTo: string | undefined;
}

interface Row {
  id: string;
  message_id: string;
  model: string;
  model_version: string;
  source: string;
  tenant_id: number | null;
  user_id: number | null;
  status: "completed" | "failed";
  input: Record<string, unknown>;
  output: PredictionOutput | null;
  error: Record<string, unknown> | null;
  score: number | null;
  latency_ms: number | null;
  stream_seq: number;
}

/**
 * Scores `predict.<model>` messages: validates, encodes each model's rows into one batch for
 * onnxruntime, writes every result in one transaction, then answers waiting callers. A request
 * that cannot be scored (unknown model, invalid features) is answered with its error and stored as
 * failed; a message that is not a request at all goes to the dead-letter stream.
 */
export function createScorerHandler(deps: PipelineDeps): BatchHandler {
  const { db, bus, registry, metrics, config } = deps;
  const write = createResultWriter(db, config.CREDIT_LOW_THRESHOLD);
  const durable = new DurableCommits(db, ACK_FLUSH_INTERVAL_MS);
  const subscribers = new EventSubscribers(db, bus, config.SUBJECT_PREFIX, "prediction.completed", deps.log);
  const publishNotice = noticePublisher(bus);
  // every prediction is explained
  registry.prepareExplainers();
  const handler = async (batch: readonly JsMsg[]): Promise<Outcome[]> => {
    const outcomes: Outcome[] = batch.map(() => ({ kind: "ack" }));
    const replies = new Map<number, PredictReply>();
    const rows: Row[] = [];
    const byModel = new Map<LoadedModel, Item[]>();

    batch.forEach((msg, index) => {
      const modelName = bus.names.parsePredictSubject(msg.subject) ?? "";
      const replyTo = msg.headers?.get(REPLY_HEADER) || undefined;
      const parsed = PredictRequestSchema.safeParse(decodeJson(msg.data));
      if (!parsed.success) {
        const error = `not a prediction request: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`;
        outcomes[index] = { kind: "invalid", error };
        if (replyTo) replies.set(index, { status: "error", code: "INVALID_INPUT", message: error, details: {} });
        return;
      }
      const request = parsed.data;
      const id = request.prediction_id ?? uuidv5(`${msg.info.stream}:${msg.seq}`, PREDICTION_NS);
      const item: Item = { msg, index, request, id, modelName, replyTo };
      if (!registry.has(modelName)) {
        metrics.predictionErrors.inc({ model: modelName, error_type: "model_not_found" });
        rows.push(failedRow(item, "unknown", { code: "MODEL_NOT_FOUND", message: `Model with ID '${modelName}' not found` }));
        replies.set(index, { status: "error", prediction_id: id, code: "MODEL_NOT_FOUND", message: `Model with ID '${modelName}' not found`, details: { model_id: modelName } });
        return;
      }
      // under an A/B test, the version this prediction's id falls to
      const model = registry.pick(modelName, id);
      let items = byModel.get(model);
      if (!items) byModel.set(model, (items = []));
      items.push(item);
    });

    const createdAt = new Date();
    for (const [model, items] of byModel) {
      const encoded = encodeBatch(model.encoder, items.map((i) => i.request.features));
      items.forEach((item, k) => {
        const outcome = encoded.outcomes[k]!;
        if (outcome.ok) return;
        metrics.predictionErrors.inc({ model: model.name, error_type: "invalid_features" });
        const error = { code: "INVALID_INPUT", message: "Invalid features", details: outcome.errors };
        rows.push(failedRow(item, model.version, error));
        replies.set(item.index, { status: "error", prediction_id: item.id, ...error });
      });
      if (encoded.n === 0) continue;
      const started = performance.now();
      const { scores, row } = await scoreWithOutputs(model, encoded.flat, encoded.n);
      metrics.scoreDuration.observe({ model: model.name }, (performance.now() - started) / 1000);
      for (let r = 0; r < encoded.n; r++) {
        const item = items[encoded.rowIndex[r]!]!;
        const score = scores[r]!;
        const output = presentPrediction(model, score, model.explain?.(encoded.flat, r * model.encoder.width) ?? null, row(r));
        metrics.predictions.inc({ model: model.name });
        metrics.scores.observe({ model: model.name }, score);
        if (typeof output.details.bucket === "number") metrics.scoreBuckets.observe({ model: model.name }, output.details.bucket);
        rows.push({
          ...baseRow(item, model.version),
          status: "completed",
          output,
          error: null,
          score: output.score,
          latency_ms: latencyMs(item.request, createdAt),
        });
        const outcome = encoded.outcomes[encoded.rowIndex[r]!]!;
        replies.set(item.index, {
          status: "ok",
          prediction_id: item.id,
          model: model.name,
          model_version: model.version,
          output,
          warnings: outcome.ok ? outcome.warnings : [],
          created_at: createdAt.toISOString(),
        });
      }
    }

    if (rows.length > 0) {
      const started = performance.now();
      const { lowCredits } = await write(rows);
      metrics.dbWriteDuration.observe({ pipeline: "scorer" }, (performance.now() - started) / 1000);
      // committed and visible, not yet on disk: answered now, acked once it is, and once the
      // webhooks' notices are published (a redelivery publishes them again, under the same ids)
      const notices = [...rows.filter((r) => r.status === "completed" && subscribers.has(r.user_id)).map(completedNotice), ...lowCredits];
      const settled = notices.length === 0 ? durable.flushed() : Promise.all([durable.flushed(), ...notices.map(publishNotice)]).then(() => undefined);
      for (const outcome of outcomes) if (outcome.kind === "ack") outcome.durable = settled;
    }

    // the runner sends each answer as it settles the batch, after the commit above
    for (const [index, reply] of replies) {
      const replyTo = batch[index]!.headers?.get(REPLY_HEADER);
      const outcome = outcomes[index]!;
      if (replyTo && outcome.kind !== "retry") outcome.reply = { subject: replyTo, value: reply };
    }
    return outcomes;
  };
  return Object.assign(handler, { close: () => subscribers.stop() });
}

function completedNotice(row: Row): Notice {
  return notice("prediction.completed", row.id, row.user_id, {
    model: row.model,
    model_version: row.model_version,
    user_id: row.user_id,
    prediction_id: row.id,
    result: row.output,
  });
}

/**
 * Writes batches' results, one statement at a time per process: batches that finish scoring while
 * a statement runs are written together by the next one (a group commit). Concurrent batches would
 * otherwise each update, and queue on, the same `users` row whenever one user sends many requests;
 * this way none waits on another's row lock and commits are fewer and larger. Each batch's promise
 * settles once its rows are committed. A group that fails is written again batch by batch, so one
 * batch's bad row never fails the others.
 */
function createResultWriter(db: Knex, lowCreditThreshold: number): (rows: readonly Row[]) => Promise<Written> {
  const queue: Array<{ rows: readonly Row[]; resolve: (written: Written) => void; reject: (err: unknown) => void }> = [];
  let writing = false;
  const drain = async () => {
    writing = true;
    try {
      while (queue.length > 0) {
        const group = queue.splice(0);
        try {
          // every batch of the group is given the group's low-credit notices: their ids are the same, so they are published once
          const written = await storeAndCharge(db, group.length === 1 ? group[0]!.rows : group.flatMap((g) => g.rows), lowCreditThreshold);
          for (const g of group) g.resolve(written);
        } catch (err) {
          if (group.length === 1) group[0]!.reject(err);
          else for (const g of group) await storeAndCharge(db, g.rows, lowCreditThreshold).then(g.resolve, g.reject);
        }
      }
    } finally {
      writing = false;
    }
  };
  return (rows) =>
    new Promise<Written>((resolve, reject) => {
      queue.push({ rows, resolve, reject });
      if (!writing) void drain();
    });
}

interface Written {
  /** `user.credit_low` notices of the users whose charge took them below the threshold */
  lowCredits: Notice[];
}

/**
 * Stores results and charges one credit per completed prediction, in one statement (so in one
 * transaction, and the `users` row is locked only from its update to the commit, never across a
 * round trip). Only rows this statement inserted, or moved from pending (left by an API that timed
 * out) to done, are charged: a redelivered request finds its row finished and costs nothing, and
 * crosses no threshold again.
 */
async function storeAndCharge(db: Knex, rows: readonly Row[], lowCreditThreshold: number): Promise<Written> {
  const unique = uniqueById(rows);
  // a named (prepared) statement: each connection parses and plans it once, which for a batch of a
  // few rows is most of what Postgres would otherwise spend on it
  const result = await db
    .raw(STORE_AND_CHARGE_SQL, [JSON.stringify(unique), lowCreditThreshold, lowCreditThreshold])
    .options({ name: "tidecast_scorer_store_and_charge" });
  const low = (result.rows[0]?.low ?? []) as Array<{ user_id: number; credits_remaining: number }>;
  return {
    lowCredits: low.map((u) =>
      notice("user.credit_low", `${u.user_id}:${unique[0]!.id}`, u.user_id, { user_id: u.user_id, credits_remaining: u.credits_remaining, threshold: lowCreditThreshold }),
    ),
  };
}

const STORE_AND_CHARGE_SQL = `
  WITH stored AS (
    INSERT INTO predictions (id, message_id, model, model_version, source, tenant_id, user_id, status, input, output, error, score, latency_ms, stream_seq)
    SELECT id, message_id, model, model_version, source, tenant_id, user_id, status, input, output, error, score, latency_ms, stream_seq
      FROM jsonb_to_recordset(?::jsonb) AS r(id uuid, message_id text, model text, model_version text, source text, tenant_id integer,
                                             user_id integer, status text, input jsonb, output jsonb, error jsonb, score double precision,
                                             latency_ms double precision, stream_seq bigint)
    ON CONFLICT (id) DO UPDATE
       SET status = EXCLUDED.status, output = EXCLUDED.output, error = EXCLUDED.error, score = EXCLUDED.score,
           latency_ms = EXCLUDED.latency_ms, stream_seq = EXCLUDED.stream_seq, model_version = EXCLUDED.model_version
     WHERE predictions.status = 'pending'
    RETURNING user_id, status
  ), charged AS (
    UPDATE users SET credits_remaining = GREATEST(users.credits_remaining - c.n, 0)
      FROM (SELECT user_id, count(*)::integer AS n FROM stored WHERE status = 'completed' AND user_id IS NOT NULL GROUP BY user_id) AS c
     WHERE users.id = c.user_id AND users.role <> 'admin'
    RETURNING users.id, users.credits_remaining, c.n
  )
  SELECT (SELECT count(*) FROM stored) AS stored, (SELECT count(*) FROM charged) AS charged,
         -- crossed: the balance before (after + charge) was at or above the threshold; a charge capped at 0
         -- (a race past the API's credit check) may report a balance that was below already
         (SELECT json_agg(json_build_object('user_id', id, 'credits_remaining', credits_remaining)) FROM charged
           WHERE credits_remaining < ? AND credits_remaining + n >= ?) AS low,
         ${ASYNC_COMMIT} AS commit_mode`;

/** One row per prediction id: a second message for the same id in one batch is a duplicate (its row is the first's). */
function uniqueById(rows: readonly Row[]): readonly Row[] {
  const seen = new Set<string>();
  const unique = rows.filter((r) => !seen.has(r.id) && seen.add(r.id));
  return unique.length === rows.length ? rows : unique;
}

function baseRow(item: Item, version: string) {
  return {
    id: item.id,
    message_id: messageIdOf(item.msg),
    model: item.modelName,
    model_version: version,
    source: item.request.source,
    tenant_id: item.request.tenant_id ?? null,
    user_id: item.request.user_id ?? null,
    input: item.request.features,
    stream_seq: item.msg.seq,
  };
}

function failedRow(item: Item, version: string, error: Record<string, unknown>): Row {
  return { ...baseRow(item, version), status: "failed", output: null, error, score: null, latency_ms: null };
}

function latencyMs(request: PredictRequest, now: Date): number | null {
  return request.requested_at ? Math.max(0, now.getTime() - Date.parse(request.requested_at)) : null;
}
