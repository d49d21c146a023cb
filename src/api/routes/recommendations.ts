import { NotFoundError } from "../../errors.ts";
import { recommendationReader } from "../../customers/index.ts";
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

/** The current recommendations the recommendations pipeline keeps per customer (seed 004 shape). */
export function recommendationRoutes(deps: ApiDeps) {
  const read = recommendationReader(deps.db, deps.registry);
  const CustomerId = z.string().regex(SUBJECT_TOKEN, "1-128 characters from A-Z a-z 0-9 _ - : @ + =");
  const Limit = z.coerce.number().int().min(1).max(50).optional();
  const responses = {
    200: { description: "best first", schema: CustomerRecommendationsSchema },
    404: { description: "no interaction events seen for this customer", schema: ErrorBodySchema },
  };

  async function current(customerId: string, limit: number | undefined) {
    const found = (await read([customerId], limit)).get(customerId);
    if (!found) throw new NotFoundError(`No recommendations for customer '${customerId}': no interaction events seen for it`, { customer_id: customerId });
    return { body: found };
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
