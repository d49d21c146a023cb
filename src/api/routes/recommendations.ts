import { NotFoundError } from "../../errors.ts";
import type { LoadedModel } from "../../models/index.ts";
import { SUBJECT_TOKEN } from "../../streams/index.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route } from "../route-table.ts";

const RecommendedItemSchema = z.object({
  rank: z.number().int(),
  product_id: z.string(),
  /** the model vocabulary's label; null for items the model does not know */
  description: z.string().nullable(),
  score: z.number(),
  reason: z.enum(["similar_items", "popular"]),
});

const CustomerRecommendationsSchema = z
  .object({
    customer_id: z.string(),
    recommendations: z.array(RecommendedItemSchema),
    model_id: z.string(),
    model_version: z.string(),
    updated_at: z.string(),
  })
  .openapi("CustomerRecommendations");

interface StoredRow {
  customer_id: string;
  items: Array<{ item_id: string; score: number; reason: "similar_items" | "popular" }>;
  model: string;
  model_version: string;
  updated_at: Date;
}

/** The current recommendations the recommendations pipeline keeps per customer (seed 004 shape). */
export function recommendationRoutes(deps: ApiDeps) {
  const labels = new WeakMap<LoadedModel, Map<string, string>>();
  const labelsOf = (name: string, version: string): Map<string, string> => {
    const model = deps.registry.listVersions(name).find((m) => m.version === version);
    if (!model) return new Map(); // a version this node does not hold: ids without descriptions
    let map = labels.get(model);
    if (!map) labels.set(model, (map = new Map((model.card.items?.vocabulary ?? []).map((item) => [item.id, item.label]))));
    return map;
  };

  const CustomerId = z.string().regex(SUBJECT_TOKEN, "1-128 characters from A-Z a-z 0-9 _ - : @ + =");
  const Limit = z.coerce.number().int().min(1).max(50).optional();
  const responses = {
    200: { description: "best first", schema: CustomerRecommendationsSchema },
    404: { description: "no interaction events seen for this customer", schema: ErrorBodySchema },
  };

  async function current(customerId: string, limit: number | undefined) {
    const row: StoredRow | undefined = await deps.db("recommendations").where({ customer_id: customerId }).first();
    if (!row) throw new NotFoundError(`No recommendations for customer '${customerId}': no interaction events seen for it`, { customer_id: customerId });
    const names = labelsOf(row.model, row.model_version);
    return {
      body: {
        customer_id: row.customer_id,
        recommendations: row.items.slice(0, limit ?? row.items.length).map((item, k) => ({
          rank: k + 1,
          product_id: item.item_id,
          description: names.get(item.item_id) ?? null,
          score: item.score,
          reason: item.reason,
        })),
        model_id: row.model,
        model_version: row.model_version,
        updated_at: row.updated_at.toISOString(),
      },
    };
  }

  return [
    route({
      method: "get",
      path: "/api/v1/recommendations/{customer_id}",
      summary: "A customer's current recommendations, kept up to date from interaction events",
      tags: ["recommendations"],
      access: "user",
      params: z.strictObject({ customer_id: CustomerId }),
      query: z.strictObject({ limit: Limit }),
      responses,
      handler: ({ params, query }) => current(params.customer_id, query.limit),
    }),
    route({
      method: "get",
      path: "/api/v1/recommendations",
      summary: "The same, with the customer as a query parameter (seed 004)",
      tags: ["recommendations"],
      access: "user",
      query: z.strictObject({ customer_id: CustomerId, limit: Limit }),
      responses,
      handler: ({ query }) => current(query.customer_id, query.limit),
    }),
  ];
}
