import { getPrediction, listPredictions } from "../../predictions/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route } from "../route-table.ts";

const PredictionRecordSchema = z
  .object({
    prediction_id: z.uuid(),
    model_id: z.string(),
    model_version: z.string(),
    status: z.enum(["pending", "completed", "failed"]),
    source: z.string(),
    input: z.record(z.string(), z.unknown()),
    output: z.record(z.string(), z.unknown()).nullable(),
    error: z.record(z.string(), z.unknown()).nullable(),
    score: z.number().nullable(),
    processing_time_ms: z.number().nullable(),
    created_at: z.string(),
  })
  .openapi("PredictionRecord");

const ListQuerySchema = z.strictObject({
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(100).default(20),
  sort_by: z.enum(["created_at", "score", "model"]).default("created_at"),
  sort_order: z.enum(["asc", "desc"]).default("asc"),
  model: z.string().max(100).optional(),
  status: z.enum(["pending", "completed", "failed"]).optional(),
  source: z.string().max(20).optional(),
});

const Paginated = z.object({
  items: z.array(PredictionRecordSchema),
  pagination: z.object({
    total: z.number(),
    page: z.number(),
    page_size: z.number(),
    pages: z.number(),
    has_next: z.boolean(),
    has_prev: z.boolean(),
  }),
});

export function predictionRoutes(deps: ApiDeps) {
  return [
    route({
      method: "get",
      path: "/api/v1/predictions/{prediction_id}",
      summary: "One prediction: pending, completed or failed",
      tags: ["predictions"],
      access: "user",
      params: z.strictObject({ prediction_id: z.uuid() }),
      responses: { 200: { description: "found", schema: PredictionRecordSchema }, 404: { description: "not found", schema: ErrorBodySchema } },
      handler: async ({ params, principal }) => ({ body: await getPrediction(deps.db, params.prediction_id, principal!) }),
    }),
    route({
      method: "get",
      path: "/api/v1/predictions",
      summary: "Prediction history, paginated (seed 001)",
      tags: ["predictions"],
      access: "user",
      query: ListQuerySchema,
      responses: { 200: { description: "a page", schema: Paginated }, 422: { description: "bad query", schema: ErrorBodySchema } },
      handler: async ({ query, principal }) => ({ body: await listPredictions(deps.db, principal!, query) }),
    }),
  ];
}
