import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { requireCredits, type Principal } from "../auth/index.ts";
import {
  AppError,
  ModelNotFoundError,
  PredictionTimeoutError,
  ServiceUnavailableError,
  ValidationError,
} from "../errors.ts";
import type { LoadedModel, ModelRegistry } from "../models/index.ts";
import { REPLY_HEADER, TIMEOUT, type Bus } from "../streams/index.ts";
import type { PredictReply, PredictRequest } from "./messages.ts";

export interface PredictDeps {
  db: Knex;
  bus: Bus;
  registry: ModelRegistry;
  timeoutMs: number;
}

export type PredictSuccess = Extract<PredictReply, { status: "ok" }>;

/**
 * A synchronous prediction, the one way every REST prediction is made: checked against the
 * model's card here (so a bad request never enters the stream), published to `predict.<model>`,
 * and answered by the scorer over request/reply. When the scorer does not answer in time, a
 * pending row is left to poll and the caller gets a 504 with the prediction id.
 */
export async function requestPrediction(
  deps: PredictDeps,
  input: { model: string; features: Record<string, unknown>; principal: Principal; source: PredictRequest["source"] },
): Promise<PredictSuccess> {
  const model = deps.registry.get(input.model);
  const check = model.encoder(input.features);
  if (!check.ok) throw new ValidationError("Invalid features", check.errors);
  requireCredits(input.principal, 1);
  return sendPrediction(deps, model, input);
}

/**
 * Publishes features already checked against `model`'s card (and the credits they need) and waits
 * for the scorer's answer: what `requestPrediction` does after its checks, for callers that made
 * them themselves (a batch checks all its rows first).
 */
export async function sendPrediction(
  deps: PredictDeps,
  model: LoadedModel,
  input: { features: Record<string, unknown>; principal: Principal; source: PredictRequest["source"] },
): Promise<PredictSuccess> {
  const id = randomUUID();
  const request: PredictRequest = {
    prediction_id: id,
    features: input.features,
    source: input.source,
    user_id: input.principal.userId,
    tenant_id: input.principal.tenantId,
    requested_at: new Date().toISOString(),
  };
  const waiter = deps.bus.replies.expect(id, deps.timeoutMs);
  try {
    await deps.bus.publisher.publish("predict", deps.bus.names.predictSubject(model.name), request, {
      msgId: id,
      headers: { [REPLY_HEADER]: waiter.replyTo },
    });
  } catch (err) {
    waiter.cancel();
    throw new ServiceUnavailableError("The prediction stream is unavailable; try again", { cause: String(err) });
  }
  const reply = (await waiter.result) as PredictReply | typeof TIMEOUT;
  if (reply === TIMEOUT) {
    await recordPending(deps.db, id, model.name, model.version, request);
    throw new PredictionTimeoutError(id, deps.timeoutMs);
  }
  if (reply.status === "error") {
    if (reply.code === "MODEL_NOT_FOUND") throw new ModelNotFoundError(model.name);
    if (reply.code === "INVALID_INPUT") throw new ValidationError(reply.message, reply.details);
    throw new AppError(422, "PREDICTION_FAILED", "Prediction failed", reply.message, reply.details);
  }
  return reply;
}

async function recordPending(db: Knex, id: string, model: string, version: string, request: PredictRequest) {
  await db("predictions")
    .insert({
      id,
      message_id: id,
      model,
      model_version: version,
      source: request.source,
      tenant_id: request.tenant_id,
      user_id: request.user_id,
      status: "pending",
      input: JSON.stringify(request.features),
    })
    .onConflict("id")
    .ignore();
}
