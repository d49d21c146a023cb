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

/** Reads customers' current recommendations, best first, at most `limit` each; customers never seen are left out. */
export function recommendationReader(db: Knex, registry: ModelRegistry) {
  const labels = new WeakMap<LoadedModel, Map<string, string>>();
  const labelsOf = (name: string, version: string): Map<string, string> => {
    const model = registry.findVersion(name, version);
    if (!model) return new Map(); // a version this node does not hold: ids without descriptions
    let map = labels.get(model);
    if (!map) labels.set(model, (map = new Map((model.card.items?.vocabulary ?? []).map((item) => [item.id, item.label]))));
    return map;
  };

  return async (customerIds: readonly string[], limit?: number): Promise<Map<string, CustomerRecommendations>> => {
    const rows: StoredRow[] = await db("recommendations").whereIn("customer_id", customerIds);
    return new Map(
      rows.map((row) => {
        const names = labelsOf(row.model, row.model_version);
        const items = row.items.slice(0, limit ?? row.items.length);
        return [
          row.customer_id,
          {
            customer_id: row.customer_id,
            recommendations: items.map((item, k) => ({ rank: k + 1, product_id: item.item_id, description: names.get(item.item_id) ?? null, score: item.score, reason: item.reason })),
            model_id: row.model,
            model_version: row.model_version,
            updated_at: row.updated_at.toISOString(),
          },
        ];
      }),
    );
  };
}
