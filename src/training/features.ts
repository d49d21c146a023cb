/**
 * From a trainer's feature declarations and its training rows to the card's `features` (ranges,
 * imputation defaults) and `encoding` (which column of the vector holds what).
 */
import type { DerivedColumn, EncodedColumn, FeatureSpec, ModelCard } from "../models/card.ts";
import type { Encoder } from "../models/encode.ts";
import { TrainingError, type LabelledRows } from "./trainer.ts";

/** What a trainer states about a feature; ranges and defaults are measured from training data. */
export interface DeclaredFeature {
  name: string;
  type: FeatureSpec["type"];
  required: boolean;
  description: string;
  /** category features: every value the model knows, in column order */
  categories?: string[];
  out_of_range?: FeatureSpec["out_of_range"];
  unknown_category?: FeatureSpec["unknown_category"];
  /** other names a request may use (see FeatureSpec.aliases) */
  aliases?: string[];
}

/** The declaration as a FeatureSpec without measured fields: enough to coerce CSV rows. */
export function draftFeatureSpecs(declared: readonly DeclaredFeature[]): FeatureSpec[] {
  return declared.map((f) => ({
    name: f.name,
    type: f.type,
    required: f.required,
    description: f.description,
    out_of_range: f.out_of_range ?? "clip",
    unknown_category: f.unknown_category ?? "map_unknown",
    ...(f.categories ? { categories: [...f.categories] } : {}),
    ...(f.aliases ? { aliases: [...f.aliases] } : {}),
  }));
}

/**
 * Measures each declared feature on the (already coerced) training rows: numeric min/max, and for
 * optional features the imputation default (median for numbers, rounded for integers; the most
 * frequent value for booleans and categories, ties to the first declared / to false). Values of the
 * wrong type are skipped here; the encoding pass rejects them with the row's line.
 */
export function describeFeatures(declared: readonly DeclaredFeature[], rows: readonly Record<string, unknown>[]): FeatureSpec[] {
  return draftFeatureSpecs(declared).map((spec) => {
    const values = rows.map((r) => (Object.hasOwn(r, spec.name) ? r[spec.name] : undefined));
    switch (spec.type) {
      case "text":
        // nothing to measure per value: a text feature's vocabulary is fitted by its trainer (text.ts)
        return spec;
      case "number":
      case "integer": {
        const numbers = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
        if (numbers.length === 0) throw new RangeError(`feature "${spec.name}" has no numeric values in the training rows`);
        spec.min = numbers[0]!;
        spec.max = numbers[numbers.length - 1]!;
        if (!spec.required) {
          const mid = numbers.length >> 1;
          const median = numbers.length % 2 ? numbers[mid]! : (numbers[mid - 1]! + numbers[mid]!) / 2;
          spec.default = spec.type === "integer" ? Math.round(median) : median;
        }
        return spec;
      }
      case "boolean": {
        let yes = 0;
        let no = 0;
        for (const v of values) {
          if (v === true || v === 1 || (typeof v === "string" && /^yes$/i.test(v))) yes++;
          else if (v === false || v === 0 || (typeof v === "string" && /^no$/i.test(v))) no++;
        }
        if (yes + no === 0) throw new RangeError(`feature "${spec.name}" has no boolean values in the training rows`);
        if (!spec.required) spec.default = yes > no;
        return spec;
      }
      case "category": {
        const categories = spec.categories ?? [];
        if (categories.length === 0) throw new RangeError(`category feature "${spec.name}" declares no categories`);
        const counts = new Map(categories.map((c) => [c, 0]));
        for (const v of values) if (typeof v === "string" && counts.has(v)) counts.set(v, counts.get(v)! + 1);
        if (!spec.required) {
          let best = categories[0]!;
          for (const c of categories) if (counts.get(c)! > counts.get(best)!) best = c;
          if (counts.get(best) === 0) throw new RangeError(`feature "${spec.name}" has no known category in the training rows`);
          spec.default = best;
        }
        return spec;
      }
    }
  });
}

/**
 * One numeric column per number/integer/boolean feature and one 0/1 column per category, in order,
 * then the `derived` columns (products, differences, ratios of numeric features; see card.ts) as
 * given. The encoder checks that a derived column's sources are numeric features of the card.
 */
export function buildEncoding(features: readonly FeatureSpec[], inputName: string, derived: readonly DerivedColumn[] = []): ModelCard["encoding"] {
  const columns: EncodedColumn[] = [];
  for (const f of features) {
    if (f.type === "category") for (const category of f.categories ?? []) columns.push({ kind: "onehot", feature: f.name, category });
    else columns.push({ kind: "numeric", feature: f.name });
  }
  for (const column of derived) columns.push(structuredClone(column));
  return { input_name: inputName, columns };
}

export interface EncodedRows {
  x: Float32Array;
  warnings: number;
  rowsWithWarnings: number;
}

/** Encodes rows with the serving encoder; training rows must encode cleanly (no clip, no unknown). */
export function encodeTrainingRows(
  encoder: Encoder,
  typed: readonly Record<string, unknown>[],
  indices: readonly number[],
  data: LabelledRows,
  what: string,
  strict: boolean,
): EncodedRows {
  const width = encoder.width;
  const out = new Float32Array(indices.length * width);
  let warnings = 0;
  let rowsWithWarnings = 0;
  indices.forEach((index, k) => {
    const outcome = encoder.encodeInto(typed[index]!, out, k * width);
    if (!outcome.ok) {
      const detail = Object.entries(outcome.errors).map(([field, messages]) => `${field}: ${messages.join("; ")}`);
      throw new TrainingError(`${data.origin(index)}: ${what} row does not encode: ${detail.join(", ")}`);
    }
    if (outcome.warnings.length > 0) {
      if (strict) throw new TrainingError(`${data.origin(index)}: ${what} row: ${outcome.warnings.join("; ")}`);
      warnings += outcome.warnings.length;
      rowsWithWarnings++;
    }
  });
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) throw new TrainingError(`${what} row ${Math.floor(i / width)}: encoded column ${i % width} is ${out[i]}`);
  }
  return { x: out, warnings, rowsWithWarnings };
}
