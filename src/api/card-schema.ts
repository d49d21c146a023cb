import { DEFAULT_TEXT_MAX_LENGTH } from "../models/card.ts";
import type { ModelCard } from "../models/index.ts";
import { z } from "./openapi-zod.ts";

const BOOLEAN_LIKE = z.union([z.boolean(), z.enum(["Yes", "No", "yes", "no"]), z.literal(0), z.literal(1)]);

/**
 * The request schema of a model's features, derived from its card: the shape (names, JSON types,
 * no unknown fields) for validation and the OpenAPI document. Ranges and categories are the
 * encoder's job, which applies the card's clip / unknown rules and names the field on failure.
 */
export function featuresSchema(card: ModelCard) {
  const shape: Record<string, z.ZodType> = {};
  for (const f of card.features) {
    let field: z.ZodType;
    const range = f.min !== undefined && f.max !== undefined ? ` Training range ${f.min}–${f.max}; outside it: ${f.out_of_range}.` : "";
    switch (f.type) {
      case "number":
        field = z.number().describe(`${f.description}${range}`);
        break;
      case "integer":
        field = z.number().int().describe(`${f.description}${range}`);
        break;
      case "boolean":
        field = BOOLEAN_LIKE.describe(f.description);
        break;
      case "text":
        field = z.string().min(1).max(f.max_length ?? DEFAULT_TEXT_MAX_LENGTH).describe(f.description);
        break;
      case "category":
        field = z
          .string()
          .max(200)
          .describe(`${f.description} Known values: ${(f.categories ?? []).join(", ")}; other values: ${f.unknown_category}.`);
        break;
    }
    shape[f.name] = f.required ? field : field.optional();
  }
  return z.strictObject(shape);
}
