/**
 * Seed 000's enterprise routes: a batch of predictions across models, usage analytics and the
 * export of predictions, each over what the caller may see (admins: all; operators and analysts:
 * their tenant's; users: their own).
 */
import { isMetered, requireCredits } from "../../auth/index.ts";
import { AppError } from "../../errors.ts";
import { exportPredictions, requestPrediction, usageAnalytics } from "../../predictions/index.ts";
import { predictDeps, type ApiDeps } from "../deps.ts";
import { elapsedSeconds } from "../elapsed.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

export const MAX_ENTERPRISE_BATCH = 100;

const errors = {
  401: { description: "unauthenticated", schema: ErrorBodySchema },
  422: { description: "bad request", schema: ErrorBodySchema },
};

const Days = (byDefault: number) => z.coerce.number().int().min(1).max(365).default(byDefault);
const Model = z.string().min(1).max(100).optional();

export function enterpriseRoutes(deps: ApiDeps): AnyRoute[] {
  const predicting = predictDeps(deps);
  return [
    route({
      method: "post",
      path: "/api/enterprise/batch/predict",
      summary: `Up to ${MAX_ENTERPRISE_BATCH} predictions of any models in one request, each succeeding or failing on its own (seed 000)`,
      tags: ["predictions"],
      access: "user",
      body: z
        .strictObject({
          requests: z
            .array(z.strictObject({ model: z.string().min(1).max(100), input: z.record(z.string(), z.unknown()).describe("the model's features, as in /api/v1/predict") }))
            .min(1)
            .max(MAX_ENTERPRISE_BATCH),
        })
        .openapi("EnterpriseBatchRequest"),
      responses: {
        200: { description: "every request's result in order, and the batch's figures" },
        402: { description: "the credits do not cover every request", schema: ErrorBodySchema },
        ...errors,
      },
      handler: async ({ body, principal }) => {
        // as seed 001's batch: a balance that cannot cover every request refuses the batch (402) before any is sent
        requireCredits(principal!, body.requests.length);
        const started = performance.now();
        const results = await Promise.all(
          body.requests.map(async ({ model, input }, index) => {
            const t = performance.now();
            try {
              const r = await requestPrediction(predicting, { model, features: input, principal: principal!, source: "batch" });
              const { contributions: _c, ...prediction } = r.output;
              return { index, model, status: "success" as const, prediction_id: r.prediction_id, model_version: r.model_version, prediction, warnings: r.warnings, processing_time: elapsedSeconds(t) };
            } catch (err) {
              if (!(err instanceof AppError)) throw err;
              return { index, model, status: "error" as const, error: { code: err.code, message: err.message, details: err.details }, processing_time: elapsedSeconds(t) };
            }
          }),
        );
        const total = elapsedSeconds(started);
        const successful = results.filter((r) => r.status === "success").length;
        return {
          body: {
            results,
            batch_stats: {
              total_requests: results.length,
              successful,
              failed: results.length - successful,
              success_rate: Math.round((successful / results.length) * 1000) / 10,
              total_processing_time: total,
              avg_request_time: Math.round((results.reduce((s, r) => s + r.processing_time, 0) / results.length) * 1000) / 1000,
              requests_per_second: total > 0 ? Math.round((results.length / total) * 100) / 100 : null,
            },
            credits_consumed: isMetered(principal!) ? successful : 0,
            timestamp: new Date().toISOString(),
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/enterprise/analytics/usage",
      summary: "Prediction volume, success rate, confidence and speed by model and over time (seed 000)",
      tags: ["predictions"],
      access: "user",
      query: z.strictObject({ days: Days(7), model: Model, granularity: z.enum(["hour", "day", "week"]).default("day") }),
      responses: { 200: { description: "analytics" }, ...errors },
      handler: async ({ query, principal }) => ({ body: await usageAnalytics(deps.db, principal!, query) }),
    }),
    route({
      method: "get",
      path: "/api/enterprise/export/predictions",
      summary: "The predictions of the last days as CSV or a JSON array, newest first, streamed (seed 000)",
      tags: ["predictions"],
      access: "user",
      query: z.strictObject({ format: z.enum(["csv", "json"]).default("csv"), days: Days(30), model: Model }),
      responses: { 200: { description: "timestamp, model_type, confidence, processing_time, status, prediction_summary, prediction_id, model_version, source" }, ...errors },
      handler: ({ query, principal }) => ({
        body: exportPredictions(deps.db, principal!, { days: query.days, model: query.model }, query.format),
        type: query.format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
        headers: { "Content-Disposition": `attachment; filename="predictions-${new Date().toISOString().slice(0, 10)}.${query.format}"` },
      }),
    }),
  ];
}
