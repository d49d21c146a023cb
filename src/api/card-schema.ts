import { DEFAULT_TEXT_MAX_LENGTH } from "../models/card.ts";
import type { ModelCard } from "../models/index.ts";
import { z } from "./openapi-zod.ts";

/** a field's type error in the encoder's words ("is required" when it is missing), not zod's "Invalid input" of a union */
const typeError = (expected: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? "is required" : `must be ${expected}`) });

const BOOLEAN = "a boolean (true/false, yes/no or 1/0)";
const BOOLEAN_LIKE = z.union(
  [z.boolean(), z.literal(0), z.literal(1), z.string().regex(/^\s*(yes|no|true|false|0|1)?\s*$/i, `must be ${BOOLEAN}`)],
  typeError(BOOLEAN),
);
/** a number, or its decimal text as a CSV reader yields it ("" = missing); the encoder parses it */
const NUMERIC_TEXT = z.string().max(64);

/**
 * The request schema of a model's features, derived from its card: the shape (names and aliases,
 * JSON types, the dataset columns it ignores, no other fields) for validation and the OpenAPI
 * document. Ranges, categories and which of a feature's names was sent are the encoder's job, which
 * applies the card's clip / unknown rules and names the field on failure.
 */
export function featuresSchema(card: ModelCard) {
  const shape: Record<string, z.ZodType> = {};
  // a required feature with aliases: one of its names must be present (JSON Schema `anyOf` of `required`)
  const oneNameOf: Array<{ anyOf: Array<{ required: string[] }> }> = [];
  for (const f of card.features) {
    let field: z.ZodType;
    const range = f.min !== undefined && f.max !== undefined ? ` Training range ${f.min}–${f.max}; outside it: ${f.out_of_range}.` : "";
    switch (f.type) {
      case "number":
        field = z.union([z.number(), NUMERIC_TEXT], typeError("a number")).describe(`${f.description}${range}`);
        break;
      case "integer":
        field = z.union([z.number().int(), NUMERIC_TEXT], typeError("an integer")).describe(`${f.description}${range}`);
        break;
      case "boolean":
        field = BOOLEAN_LIKE.describe(f.description);
        break;
      case "text":
        field = z.string(typeError("a string")).min(1).max(f.max_length ?? DEFAULT_TEXT_MAX_LENGTH).describe(f.description);
        break;
      case "category":
        field = z
          .string(typeError("a string"))
          .max(200)
          .describe(`${f.description} Known values: ${(f.categories ?? []).join(", ")}; other values: ${f.unknown_category}.`);
        break;
    }
    if (!f.aliases?.length) {
      shape[f.name] = f.required ? field : field.optional();
      continue;
    }
    const names = [f.name, ...f.aliases];
    if (f.required) oneNameOf.push({ anyOf: names.map((name) => ({ required: [name] })) });
    for (const name of names) {
      const others = names.filter((n) => n !== name).join(", ");
      shape[name] = field.optional().describe(`${field.description} Also named ${others}: send one of the names${f.required ? " (required)" : ""}.`);
    }
  }
  for (const column of card.ignored_columns ?? []) {
    shape[column.name] = z.unknown().optional().describe(`Not a feature (${column.reason}): accepted and ignored, so a dataset row can be sent as it is.`);
  }
  const schema = z.strictObject(shape);
  // documentation only: validation leaves "one of the names" to the encoder, which says which is missing
  return oneNameOf.length ? schema.meta({ allOf: oneNameOf }) : schema;
}
