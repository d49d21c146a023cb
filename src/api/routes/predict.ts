import { EXPLANATION_METHODS } from "../../models/index.ts";
import { MAX_BATCH_ROWS, requestPrediction, requestPredictions, type BatchItem, type PredictSuccess } from "../../predictions/index.ts";
import { predictDeps, type ApiDeps } from "../deps.ts";
import { elapsedMs } from "../elapsed.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

const GenericBody = z
  .strictObject({
    model_id: z.string().min(1).max(100),
    features: z
      .record(z.string(), z.unknown())
      .describe(
        "the model's features by the names GET /api/v1/models/{model_id} lists (or their aliases); a name that is none of the card's " +
          "is matched by its snake_case spelling, so a dataset row can be sent under its file's header (MonthlyCharges, emp.var.rate)",
      ),
    include_explanation: z.boolean().default(false),
  })
  .openapi("PredictRequest");

const PredictionFields = {
  prediction_id: z.uuid(),
  model_id: z.string(),
  model_version: z.string(),
  score: z.number(),
  label: z.number().nullable(),
  confidence: z.number().nullable(),
  details: z.record(z.string(), z.unknown()),
  warnings: z.array(z.string()),
  created_at: z.string(),
  explanation: z
    .object({ method: z.string(), feature_importance: z.record(z.string(), z.number()) })
    .optional(),
};

const GenericResponse = z.object({ ...PredictionFields, processing_time_ms: z.number() }).openapi("Prediction");

const BatchBody = z
  .strictObject({
    model_id: z.string().min(1).max(100),
    instances: z.array(z.record(z.string(), z.unknown())).min(1).max(MAX_BATCH_ROWS).describe("each one model's features, as `features` in /api/v1/predict"),
    include_explanation: z.boolean().default(false),
  })
  .openapi("BatchPredictRequest");

const BatchResponse = z
  .object({
    model_id: z.string(),
    total: z.number(),
    completed: z.number(),
    pending: z.number(),
    failed: z.number(),
    items: z.array(
      z.discriminatedUnion("status", [
        z.object({ index: z.number(), status: z.literal("completed"), ...PredictionFields }),
        z.object({ index: z.number(), status: z.literal("pending"), prediction_id: z.uuid(), poll: z.string() }),
        z.object({ index: z.number(), status: z.literal("failed"), error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) }) }),
      ]),
    ),
    processing_time_ms: z.number(),
  })
  .openapi("BatchPrediction");

const errors = {
  401: { description: "unauthenticated", schema: ErrorBodySchema },
  402: { description: "no credits left", schema: ErrorBodySchema },
  404: { description: "unknown model", schema: ErrorBodySchema },
  422: { description: "invalid features", schema: ErrorBodySchema },
  504: { description: "not answered in time; poll the prediction id", schema: ErrorBodySchema },
};

export function predictRoutes(deps: ApiDeps): AnyRoute[] {
  const predicting = predictDeps(deps);
  return [
    route({
      method: "post",
      path: "/api/v1/predict",
      summary: "Score features with any model (seed 001)",
      tags: ["predictions"],
      access: "user",
      body: GenericBody,
      responses: { 200: { description: "scored", schema: GenericResponse }, ...errors },
      handler: async ({ body, principal }) => {
        const started = performance.now();
        const r = await requestPrediction(predicting, { model: body.model_id, features: body.features, principal: principal!, source: "sync" });
        const prediction = predictionBody(r, explanationMethod(deps, r.model, body.include_explanation));
        return { body: { ...prediction, processing_time_ms: elapsedMs(started) } };
      },
    }),
    route({
      method: "post",
      path: "/api/v1/batch-predict",
      summary: `Score up to ${MAX_BATCH_ROWS} rows with one model (seed 001); a batch with an invalid row is refused whole`,
      tags: ["predictions"],
      access: "user",
      body: BatchBody,
      responses: { 200: { description: "every row completed, pending (poll its id) or failed", schema: BatchResponse }, ...errors },
      handler: async ({ body, principal }) => {
        const started = performance.now();
        const items = await requestPredictions(predicting, { model: body.model_id, rows: body.instances, principal: principal!, source: "batch" });
        const method = explanationMethod(deps, body.model_id, body.include_explanation);
        const count = (status: BatchItem["status"]) => items.filter((item) => item.status === status).length;
        return {
          body: {
            model_id: body.model_id,
            total: items.length,
            completed: count("completed"),
            pending: count("pending"),
            failed: count("failed"),
            items: items.map((item) => batchItemBody(item, method)),
            processing_time_ms: elapsedMs(started),
          },
        };
      },
    }),
  ];
}

/** How the model's contributions are computed, when they were asked for and it has an explainer. */
function explanationMethod(deps: ApiDeps, model: string, asked: boolean): string | null {
  const explainer = deps.registry.get(model).card.explainer;
  return asked && explainer ? EXPLANATION_METHODS[explainer.kind].prediction : null;
}

function batchItemBody(item: BatchItem, explainMethod: string | null) {
  switch (item.status) {
    case "completed":
      return { index: item.index, status: item.status, ...predictionBody(item.prediction, explainMethod) };
    case "pending":
      return { index: item.index, status: item.status, prediction_id: item.prediction_id, poll: `/api/v1/predictions/${item.prediction_id}` };
    case "failed":
      return item;
  }
}

/** `explainMethod` names how contributions were computed, or is null when none were asked for. */
function predictionBody(r: PredictSuccess, explainMethod: string | null) {
  return {
    prediction_id: r.prediction_id,
    model_id: r.model,
    model_version: r.model_version,
    score: r.output.score,
    label: r.output.label,
    confidence: r.output.confidence,
    details: r.output.details,
    warnings: r.warnings,
    created_at: r.created_at,
    ...(explainMethod && r.output.contributions
      ? {
          explanation: {
            method: explainMethod,
            feature_importance: Object.fromEntries(r.output.contributions.map((c) => [c.feature, c.contribution])),
          },
        }
      : {}),
  };
}
