import type { JsMsg } from "@nats-io/jetstream";
import { v5 as uuidv5 } from "uuid";
import { encodeBatch, presentPrediction, scoreWithOutputs, type LoadedModel } from "../../src/models/index.ts";
import { decodeJson, encodeJson, REPLY_HEADER, type Outcome } from "../../src/streams/index.ts";
import type { PipelineDeps } from "../types.ts";
import { PredictRequestSchema, type PredictReply, type PredictRequest } from "../../src/predictions/index.ts";

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
  input: string;
  output: string | null;
  error: string | null;
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
export function createScorerHandler(deps: PipelineDeps) {
  const { db, bus, registry, metrics } = deps;
  return async (batch: readonly JsMsg[]): Promise<Outcome[]> => {
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
      const model = registry.get(modelName);
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
        rows.push({
          ...baseRow(item, model.version),
          status: "completed",
          output: JSON.stringify(output),
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
      await db.transaction(async (trx) => {
        // A pending row (left by an API that timed out) is completed; a finished one is kept as is.
        const inserted: Array<{ id: string; user_id: number | null }> = await trx("predictions")
          .insert(rows)
          .onConflict("id")
          .merge(["status", "output", "error", "score", "latency_ms", "stream_seq", "model_version"])
          .where("predictions.status", "pending")
          .returning(["id", "user_id"]);
        await chargeCredits(trx, inserted);
      });
      metrics.dbWriteDuration.observe({ pipeline: "scorer" }, (performance.now() - started) / 1000);
    }

    for (const [index, reply] of replies) {
      const replyTo = batch[index]!.headers?.get(REPLY_HEADER);
      if (replyTo) bus.nc.publish(replyTo, encodeJson(reply));
    }
    return outcomes;
  };
}

/** One credit per completed prediction, charged in the transaction that stores it. */
async function chargeCredits(trx: import("knex").Knex.Transaction, inserted: Array<{ user_id: number | null }>) {
  const perUser = new Map<number, number>();
  for (const row of inserted) if (row.user_id !== null) perUser.set(row.user_id, (perUser.get(row.user_id) ?? 0) + 1);
  if (perUser.size === 0) return;
  const values = [...perUser].map(() => "(?::int, ?::int)").join(", ");
  await trx.raw(
    `UPDATE users SET credits_remaining = GREATEST(users.credits_remaining - c.n, 0)
       FROM (VALUES ${values}) AS c(id, n) WHERE users.id = c.id`,
    [...perUser].flat(),
  );
}

function baseRow(item: Item, version: string) {
  return {
    id: item.id,
    message_id: item.msg.headers?.get("Nats-Msg-Id") || `${item.msg.info.stream}:${item.msg.seq}`,
    model: item.modelName,
    model_version: version,
    source: item.request.source,
    tenant_id: item.request.tenant_id ?? null,
    user_id: item.request.user_id ?? null,
    input: JSON.stringify(item.request.features),
    stream_seq: item.msg.seq,
  };
}

function failedRow(item: Item, version: string, error: Record<string, unknown>): Row {
  return { ...baseRow(item, version), status: "failed", output: null, error: JSON.stringify(error), score: null, latency_ms: null };
}

function latencyMs(request: PredictRequest, now: Date): number | null {
  return request.requested_at ? Math.max(0, now.getTime() - Date.parse(request.requested_at)) : null;
}
