/**
 * Seed 002's B2B lead-scoring API, served by the `b2b_lead_score` model: `POST /api/v1/score`,
 * `POST /api/v1/score/batch` (at most 100 leads) and the model's info, features and importance.
 * A lead is scored like every REST prediction (checked against the card, published to
 * `predict.b2b_lead_score`, answered by the scorer, stored and charged one credit), so its
 * `request_id` is the prediction's id, readable at `/api/v1/predictions/{id}`. Bucket and tier are
 * the card's `score_buckets` of the probability, the same ones the lead pipeline ranks events with.
 */
import { AppError, BadRequestError } from "../../errors.ts";
import { EXPLANATION_METHODS } from "../../models/index.ts";
import { requestPrediction, requestPredictions, type BatchItem, type PredictSuccess } from "../../predictions/index.ts";
import { featuresSchema } from "../card-schema.ts";
import { predictDeps, type ApiDeps } from "../deps.ts";
import { elapsedMs } from "../elapsed.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

export const B2B_MODEL = "b2b_lead_score";
export const MAX_LEADS_PER_BATCH = 100;
const TOP_IMPORTANCE = 10;

const ScoreSchema = z.object({
  raw_score: z.number().describe("P(convert)"),
  bucket: z.number().int().describe("1 (lowest) to 5 (highest), by the card's score_buckets cut points"),
  tier: z.string().describe("A (bucket 5) to E (bucket 1)"),
  ranking: z.object({ tier_definition: z.record(z.string(), z.string()) }).optional(),
});

const LeadScoreSchema = z
  .object({
    request_id: z.uuid().describe("the prediction's id: GET /api/v1/predictions/{id} reads it back"),
    model: z.object({ name: z.string(), version: z.string() }),
    lead_id: z.string().nullable(),
    score: ScoreSchema,
    warnings: z.array(z.string()).describe("values clipped to the training range, and the like"),
    timing: z.object({ latency_ms: z.number() }).optional(),
    api_version: z.string().optional(),
  })
  .openapi("LeadScore");

const IncludeDetails = z
  .strictObject({
    include_details: z.stringbool().optional().describe("true: add tier definitions, timing and the API version (default false)"),
  })
  .openapi("LeadScoreQuery");

const errors = {
  401: { description: "unauthenticated", schema: ErrorBodySchema },
  402: { description: "no credits left", schema: ErrorBodySchema },
  422: { description: "missing or invalid features", schema: ErrorBodySchema },
  504: { description: "not answered in time; poll the prediction id", schema: ErrorBodySchema },
};

/** Seed 002's routes, when a `b2b_lead_score` model is loaded (none otherwise, like the churn route). */
export function leadScoreRoutes(deps: ApiDeps): AnyRoute[] {
  if (!deps.registry.has(B2B_MODEL)) return [];
  const predicting = predictDeps(deps);
  // the contract is the same for every version of a model (activation refuses a change), so the schema is built once
  const initial = deps.registry.get(B2B_MODEL).card;
  const ScoreRequest = z
    .strictObject({
      lead_id: z.string().min(1).max(200).optional().describe("the caller's id for the lead, echoed back"),
      features: featuresSchema(initial).openapi("LeadFeatures"),
    })
    .openapi("LeadScoreRequest");
  const card = () => deps.registry.get(B2B_MODEL).card;

  return [
    route({
      method: "post",
      path: "/api/v1/score",
      summary: "Conversion score of a B2B lead, with bucket 1–5 and tier A–E (seed 002)",
      tags: ["lead scoring"],
      access: "user",
      body: ScoreRequest,
      query: IncludeDetails,
      responses: { 200: { description: "scored", schema: LeadScoreSchema }, ...errors },
      handler: async ({ body, query, principal }) => {
        const started = performance.now();
        const r = await requestPrediction(predicting, { model: B2B_MODEL, features: body.features, principal: principal!, source: "sync" });
        return { body: leadScoreBody(deps, r, body.lead_id, query.include_details === true, started) };
      },
    }),
    route({
      method: "post",
      path: "/api/v1/score/batch",
      summary: `Score up to ${MAX_LEADS_PER_BATCH} leads in one request (seed 002); a batch with an invalid lead is refused whole`,
      tags: ["lead scoring"],
      access: "user",
      body: z.array(ScoreRequest).min(1).openapi("LeadScoreBatchRequest"),
      query: IncludeDetails,
      responses: {
        200: { description: "every lead scored, in request order", schema: z.array(LeadScoreSchema) },
        400: { description: `more than ${MAX_LEADS_PER_BATCH} leads`, schema: ErrorBodySchema },
        ...errors,
      },
      handler: async ({ body, query, principal }) => {
        if (body.length > MAX_LEADS_PER_BATCH) {
          throw new BadRequestError(`Maximum ${MAX_LEADS_PER_BATCH} leads per batch request`, { leads: body.length, max: MAX_LEADS_PER_BATCH });
        }
        const started = performance.now();
        const items = await requestPredictions(predicting, {
          model: B2B_MODEL,
          rows: body.map((lead) => lead.features),
          principal: principal!,
          source: "batch",
          rowPath: (i) => `${i}.features`,
        });
        return { body: everyLeadScored(items).map((r, i) => leadScoreBody(deps, r, body[i]!.lead_id, query.include_details === true, started)) };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/model/info",
      summary: "The lead model's version, features and metadata (seed 002)",
      tags: ["lead scoring"],
      access: "user",
      responses: { 200: { description: "model information" }, 401: errors[401] },
      handler: () => {
        const c = card();
        const features = c.features.map((f) => f.name);
        return {
          body: {
            version: c.version,
            n_features: features.length,
            features,
            metadata: {
              name: c.name,
              version: c.version,
              features,
              n_features: features.length,
              model_type: c.algorithm,
              training_date: c.created_at.slice(0, 10),
              is_stub: false,
              synthetic: c.training.synthetic,
              validation_metrics: c.metrics.validation,
              score_buckets: c.score_buckets,
              card: `/api/v1/models/${c.name}`,
            },
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/model/features",
      summary: "The lead model's features (seed 002)",
      tags: ["lead scoring"],
      access: "user",
      responses: { 200: { description: "feature names", schema: z.object({ features: z.array(z.string()), count: z.number() }) }, 401: errors[401] },
      handler: () => {
        const features = card().features.map((f) => f.name);
        return { body: { features, count: features.length } };
      },
    }),
    route({
      method: "get",
      path: "/api/v1/model/importance",
      summary: "The lead model's global feature importance, largest first (seed 002)",
      tags: ["lead scoring"],
      access: "user",
      responses: { 200: { description: "importance by feature, and the top ten" }, 401: errors[401] },
      handler: () => {
        const c = card();
        const sorted = Object.entries(c.feature_importance).sort((a, b) => b[1] - a[1]);
        return {
          body: {
            importance: Object.fromEntries(sorted),
            top_10: sorted.slice(0, TOP_IMPORTANCE),
            methodology: c.explainer ? EXPLANATION_METHODS[c.explainer.kind].importance : null,
            model_version: c.version,
          },
        };
      },
    }),
  ];
}

/**
 * Seed 002's batch answers an array of scores, which has no place for a lead still in the stream or
 * one the scorer refused, so it answers only when every lead is scored. Otherwise a pending lead
 * makes it a 504 (else the first failure's error), and `details.leads` gives every lead's state and
 * request id: the scored leads are stored, and the pending ones will be, so each can be read back.
 */
function everyLeadScored(items: readonly BatchItem[]): PredictSuccess[] {
  const scored = items.flatMap((i) => (i.status === "completed" ? [i.prediction] : []));
  if (scored.length === items.length) return scored;
  const leads = items.map((i) => {
    switch (i.status) {
      case "completed":
        return { index: i.index, status: i.status, request_id: i.prediction.prediction_id };
      case "pending":
        return { index: i.index, status: i.status, request_id: i.prediction_id, poll: `/api/v1/predictions/${i.prediction_id}` };
      case "failed":
        return { index: i.index, status: i.status, error: i.error };
    }
  });
  const pending = items.filter((i) => i.status === "pending").length;
  if (pending > 0) {
    throw new AppError(504, "PREDICTION_TIMEOUT", "Prediction timed out", `${pending} of ${items.length} leads were queued but not answered in time; poll each pending request_id`, { leads });
  }
  const failed = items.find((i) => i.status === "failed")!;
  throw new AppError(FAILURE_STATUS[failed.error.code] ?? 422, failed.error.code, "Prediction failed", failed.error.message, { leads });
}

/** HTTP status of the scorer's error codes that are not a 422 */
const FAILURE_STATUS: Record<string, number> = { MODEL_NOT_FOUND: 404, SERVICE_UNAVAILABLE: 503 };

function leadScoreBody(deps: ApiDeps, r: PredictSuccess, leadId: string | undefined, includeDetails: boolean, started: number) {
  const { bucket, tier } = r.output.details as { bucket: number; tier: string };
  const scoring = deps.registry.scoredBy(r.model, r.model_version);
  const details = includeDetails ? { ranking: { tier_definition: scoring.card.score_buckets?.tier_definitions ?? {} } } : {};
  return {
    request_id: r.prediction_id,
    model: { name: r.model, version: r.model_version },
    lead_id: leadId ?? null,
    score: { raw_score: r.output.score, bucket, tier, ...details },
    warnings: r.warnings,
    ...(includeDetails ? { timing: { latency_ms: elapsedMs(started) }, api_version: deps.version } : {}),
  };
}
