/**
 * Seed 003's churn dashboard API, in its `{success, data}` envelope: the headline figures, the
 * churn probability distribution, the top churn factors of high-risk customers, risk segments and
 * the latest scores, all read from what the churn pipeline keeps (src/customers); and the
 * subscription churn model's status, performance and feature importance, from its card. Names as
 * seed 003's clients read them.
 */
import { churnOverview, latestScores, riskDistribution, riskSegments, topFactors } from "../../customers/index.ts";
import { compareVersions } from "../../models/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

const errors = {
  401: { description: "unauthenticated", schema: ErrorBodySchema },
  422: { description: "bad query", schema: ErrorBodySchema },
};

/** seed 003's RetainStream scores subscribers: its model routes describe this model */
export const RETAINSTREAM_MODEL = "churn_subscription";

/** "+0.4%" / "-120": seed 003's spelling of a change */
const signed = (value: number, unit = "") => `${value >= 0 ? "+" : ""}${value}${unit}`;

export function dashboardRoutes(deps: ApiDeps): AnyRoute[] {
  // scores stay in the tables after a model stops being shipped: such a model has no card here
  const scoringModel = (name: string, version: string) => (deps.registry.has(name) ? deps.registry.scoredBy(name, version) : null);
  return [
    route({
      method: "get",
      path: "/api/dashboard/metrics",
      summary: "Expected churn rate, high-risk customers and the scoring model's validation AUC, now and a period ago (seed 003)",
      tags: ["customers"],
      access: "user",
      query: z.strictObject({ period_days: z.coerce.number().int().min(1).max(365).default(7).describe("how far back `previous` is") }),
      responses: { 200: { description: "the figures" }, ...errors },
      handler: async ({ query }) => {
        const o = await churnOverview(deps.db, query.period_days);
        const rate = o.churn_rate;
        const scoring = o.model ? scoringModel(o.model.name, o.model.version) : null;
        return {
          body: {
            success: true,
            data: {
              churnRate: {
                current: rate.current,
                previous: rate.previous,
                change: rate.current === null || rate.previous === null ? null : signed(Math.round((rate.current - rate.previous) * 10) / 10, "%"),
                definition: "the mean of every scored customer's latest churn probability, in percent (no churns are observed, so it is the expected rate)",
              },
              predictedChurners: {
                count: o.high_risk.current,
                confidence: o.high_risk.mean_probability === null ? null : `${Math.round(o.high_risk.mean_probability * 100)}%`,
                change: signed(o.high_risk.current - o.high_risk.previous),
                definition: "customers at High risk (churn probability ≥ 0.6); confidence is their mean churn probability",
              },
              modelAuc: scoring
                ? { score: scoring.card.metrics.validation.auc ?? null, status: "validation split", version: scoring.version, model: scoring.name, customers: o.model!.customers }
                : null,
              scoredCustomers: o.scored_customers,
              periodDays: o.period_days,
            },
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/dashboard/distribution",
      summary: "Scored customers per churn-probability bucket (seed 003)",
      tags: ["customers"],
      access: "user",
      query: z.strictObject({ buckets: z.coerce.number().int().min(1).max(100).default(10) }),
      responses: { 200: { description: "`bucket` is each bucket's lower edge" }, ...errors },
      handler: async ({ query }) => ({ body: { success: true, data: await riskDistribution(deps.db, query.buckets) } }),
    }),
    route({
      method: "get",
      path: "/api/dashboard/features",
      summary: "The churn factors most common among high-risk customers (seed 003)",
      tags: ["customers"],
      access: "user",
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(5) }),
      responses: { 200: { description: "`value`: the share of high-risk customers with the factor among their key factors" }, ...errors },
      handler: async ({ query }) => {
        const top = await topFactors(deps.db, query.limit);
        return {
          body: {
            success: true,
            data: top.factors.map((f) => ({ name: f.feature, value: f.share, customers: f.customers })),
            high_risk_customers: top.high_risk_customers,
          },
        };
      },
    }),
    route({
      method: "post",
      path: "/api/customers/segment",
      summary: "Scored customers per risk segment: High (p ≥ 0.6), Medium (p ≥ 0.3), Low (seed 003)",
      tags: ["customers"],
      access: "user",
      responses: { 200: { description: "segments, High first" }, 401: errors[401] },
      handler: async () => ({ body: { success: true, data: { segments: await riskSegments(deps.db) } } }),
    }),
    route({
      method: "get",
      path: "/api/predictions/results",
      summary: "The most recently scored customers' latest churn scores, newest first (seed 003)",
      tags: ["customers"],
      access: "user",
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(1_000).default(100) }),
      responses: { 200: { description: "scores, with the number of scored customers" }, ...errors },
      handler: async ({ query }) => {
        const { total, scores } = await latestScores(deps.db, query.limit);
        const predictions = scores.map((p) => {
          const threshold = scoringModel(p.model, p.model_version)?.card.threshold ?? 0.5;
          // the probability of the outcome the model predicts, as every prediction's confidence
          const confidence = p.churn_probability >= threshold ? p.churn_probability : 1 - p.churn_probability;
          return { ...p, confidence: Math.round(confidence * 1e6) / 1e6 };
        });
        return { body: { success: true, data: { predictions, total, timestamp: new Date().toISOString() } } };
      },
    }),
    ...(deps.registry.has(RETAINSTREAM_MODEL) ? retainStreamModelRoutes(deps) : []),
  ];
}

/** The subscription churn model as seed 003's model routes show it: the active version's card. */
function retainStreamModelRoutes(deps: ApiDeps): AnyRoute[] {
  const model = () => deps.registry.get(RETAINSTREAM_MODEL);
  const auc = (m: { card: { metrics: { validation: { auc?: number } } } }) => m.card.metrics.validation.auc ?? null;
  return [
    route({
      method: "get",
      path: "/api/predictions/performance",
      summary: "The subscription churn model's validation metrics (seed 003)",
      tags: ["models"],
      access: "user",
      responses: { 200: { description: "metrics on the validation split" }, 401: errors[401] },
      handler: () => {
        const { card, version } = model();
        const v = card.metrics.validation;
        return {
          body: {
            success: true,
            data: { auc: v.auc ?? null, precision: v.precision ?? null, recall: v.recall ?? null, f1_score: v.f1 ?? null, training_samples: card.training.split.train_rows, model_version: version, last_trained: card.created_at, measured_on: "validation split", synthetic_data: card.training.synthetic },
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/model/status",
      summary: "The subscription churn model's active version, and its AUC against the version before it (seed 003)",
      tags: ["models"],
      access: "user",
      responses: { 200: { description: "status" }, 401: errors[401] },
      handler: () => {
        const active = model();
        const previous = deps.registry.listVersions(RETAINSTREAM_MODEL).find((m) => compareVersions(m.version, active.version) < 0) ?? null;
        const current = auc(active);
        const before = previous ? auc(previous) : null;
        const change = current !== null && before !== null ? current - before : null;
        return {
          body: {
            success: true,
            data: {
              version: active.version,
              algorithm: active.card.algorithm,
              status: "Active",
              auc_score: current,
              training_samples: active.card.training.split.train_rows,
              features: active.card.features.length,
              last_updated: active.card.created_at,
              performance:
                change === null
                  ? null
                  : {
                      improved: change > 0,
                      previous_version: previous!.version,
                      previous_auc: before,
                      current_auc: current,
                      improvement: `${signed(Math.round(change * 1e4) / 1e4)} (${signed(Math.round((change / before!) * 1000) / 10, "%")})`,
                    },
            },
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/model/features",
      summary: "The subscription churn model's global feature importance, largest first (seed 003)",
      tags: ["models"],
      access: "user",
      responses: { 200: { description: "features" }, 401: errors[401] },
      handler: () => {
        const sorted = Object.entries(model().card.feature_importance).sort((a, b) => b[1] - a[1]);
        return { body: { success: true, data: { features: sorted.map(([name, importance]) => ({ name, importance })) } } };
      },
    }),
  ];
}
