/**
 * Seed 003's churn dashboard, in its `{success, data}` envelope: the headline figures, the churn
 * probability distribution and the top churn factors of high-risk customers, all read from what
 * the churn pipeline keeps (src/customers). Names as seed 003's clients read them.
 */
import { churnOverview, riskDistribution, topFactors } from "../../customers/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

const errors = {
  401: { description: "unauthenticated", schema: ErrorBodySchema },
  422: { description: "bad query", schema: ErrorBodySchema },
};

/** "+0.4%" / "-120": seed 003's spelling of a change */
const signed = (value: number, unit = "") => `${value >= 0 ? "+" : ""}${value}${unit}`;

export function dashboardRoutes(deps: ApiDeps): AnyRoute[] {
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
        const scoring = o.model ? deps.registry.scoredBy(o.model.name, o.model.version) : null;
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
  ];
}
