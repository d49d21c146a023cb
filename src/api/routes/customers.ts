import { getCustomer, listHighRisk } from "../../customers/index.ts";
import { SUBJECT_TOKEN } from "../../streams/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route } from "../route-table.ts";

const summaryShape = {
  customer_id: z.string(),
  churn_probability: z.number().nullable(),
  risk_level: z.enum(["Low", "Medium", "High"]).nullable(),
  model: z.string().nullable().openapi({ description: "the model that gave the score: churn_subscription or churn_telco" }),
  model_version: z.string().nullable(),
  key_factors: z.array(z.string()).openapi({ description: "the features that moved the score most, most influential first" }),
  plan: z.string().nullable(),
  tenure_months: z.number().nullable().openapi({ description: "tenure_months of a subscription profile, else tenure of a telco profile" }),
  last_activity: z.string().nullable().openapi({ description: "the latest timestamp an event about the customer carried" }),
  scored_at: z.string().nullable(),
};

const CustomerSummarySchema = z.object(summaryShape).openapi("CustomerSummary");

const CustomerDetailsSchema = z
  .object({
    ...summaryShape,
    profile: z.record(z.string(), z.unknown()),
    events_seen: z.number(),
    event_counts: z.record(z.string(), z.number()),
    recent_scores: z.array(
      z.object({
        event_type: z.string(),
        churn_probability: z.number(),
        risk_level: z.string(),
        model: z.string(),
        model_version: z.string(),
        key_factors: z.array(z.string()),
        stream_seq: z.number(),
        scored_at: z.string(),
      }),
    ),
  })
  .openapi("CustomerDetails");

const HighRiskPageSchema = z.object({
  items: z.array(CustomerSummarySchema),
  pagination: z.object({ total: z.number(), page: z.number(), limit: z.number(), pages: z.number(), has_next: z.boolean(), has_prev: z.boolean() }),
});

/** Seed 003's customer views over the churn pipeline's state: the high-risk list and one customer. */
export function customerRoutes(deps: ApiDeps) {
  // the literal path first: "high-risk" would otherwise be taken for a customer id
  return [
    route({
      method: "get",
      path: "/api/v1/customers/high-risk",
      summary: "Customers at High churn risk, most likely to churn first (seed 003)",
      tags: ["customers"],
      access: "user",
      query: z.strictObject({
        page: z.coerce.number().int().min(1).default(1),
        limit: z.coerce.number().int().min(1).max(100).default(10),
        min_probability: z.coerce.number().min(0).max(1).optional(),
      }),
      responses: { 200: { description: "a page", schema: HighRiskPageSchema }, 422: { description: "bad query", schema: ErrorBodySchema } },
      handler: async ({ query }) => ({
        body: await listHighRisk(deps.db, { page: query.page, limit: query.limit, ...(query.min_probability !== undefined ? { minProbability: query.min_probability } : {}) }),
      }),
    }),
    route({
      method: "get",
      path: "/api/v1/customers/{customer_id}",
      summary: "One customer: latest profile, churn score, model, key factors and recent scores (seed 003)",
      tags: ["customers"],
      access: "user",
      params: z.strictObject({ customer_id: z.string().regex(SUBJECT_TOKEN, "1-128 characters from A-Z a-z 0-9 _ - : @ + =") }),
      responses: {
        200: { description: "found", schema: CustomerDetailsSchema },
        404: { description: "no events seen for this customer", schema: ErrorBodySchema },
        422: { description: "not a valid customer id", schema: ErrorBodySchema },
      },
      handler: async ({ params }) => ({ body: await getCustomer(deps.db, params.customer_id) }),
    }),
  ];
}
