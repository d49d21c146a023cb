/**
 * Read side of the recommendations pipeline: each customer's current top items (the
 * `recommendations` table), presented with the item descriptions of the model version that chose them.
 */
import type { Knex } from "knex";
import type { LoadedModel, ModelRegistry } from "../models/index.ts";

export interface RecommendedItem {
  rank: number;
  product_id: string;
  /** the model vocabulary's label; null for items the model does not know */
  description: string | null;
  score: number;
  reason: "similar_items" | "popular";
}

export interface CustomerRecommendations {
  customer_id: string;
  recommendations: RecommendedItem[];
  model_id: string;
  model_version: string;
  updated_at: string;
}

interface StoredRow {
  customer_id: string;
  items: Array<{ item_id: string; score: number; reason: "similar_items" | "popular" }>;
  model: string;
  model_version: string;
  updated_at: Date;
}

/** Each model version's item labels, built once per version. */
const labels = new WeakMap<LoadedModel, Map<string, string>>();

/**
 * A customer's stored items as the API shows them: ranked, with the item descriptions of the model
 * version that chose them (ids alone when this process does not hold that version).
 */
export function presentRecommendations(registry: ModelRegistry, row: Omit<StoredRow, "updated_at"> & { updated_at: Date }, limit?: number): CustomerRecommendations {
  const model = registry.findVersion(row.model, row.model_version);
  let names = model ? labels.get(model) : undefined;
  if (model && !names) labels.set(model, (names = new Map((model.card.items?.vocabulary ?? []).map((item) => [item.id, item.label]))));
  const items = row.items.slice(0, limit ?? row.items.length);
  return {
    customer_id: row.customer_id,
    recommendations: items.map((item, k) => ({ rank: k + 1, product_id: item.item_id, description: names?.get(item.item_id) ?? null, score: item.score, reason: item.reason })),
    model_id: row.model,
    model_version: row.model_version,
    updated_at: row.updated_at.toISOString(),
  };
}

/** Reads customers' current recommendations, best first, at most `limit` each; customers never seen are left out. */
export function recommendationReader(db: Knex, registry: ModelRegistry) {
  return async (customerIds: readonly string[], limit?: number): Promise<Map<string, CustomerRecommendations>> => {
    const rows: StoredRow[] = await db("recommendations").whereIn("customer_id", customerIds);
    return new Map(rows.map((row) => [row.customer_id, presentRecommendations(registry, row, limit)]));
  };
}
