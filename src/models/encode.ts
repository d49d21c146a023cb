/**
 * Feature encoding: the one place where a request's (or a CSV row's) features become the float
 * vector an ONNX model takes. Training encodes its rows with this same code, so a model never sees
 * a vector built by different rules at serving time.
 *
 * Everything that depends only on the card is worked out once in `createEncoder`; a call then walks
 * a flat list of per-feature plans and allocates nothing but the output vector (and, only when there
 * is something to report, the warnings array or the errors object).
 */
import { DEFAULT_TEXT_MAX_LENGTH, isDerivedColumn, type DerivedColumn, type FeatureSpec, type ModelCard, type TextAnalyzer } from "./card.ts";
import { FieldNames } from "./field-names.ts";
import { compileAnalyzer, TextAnalyzerError, writeTfidf, type Analyzer } from "./text.ts";

/** The parts of a card the encoder reads; a whole `ModelCard` fits. */
export type EncodingCard = Pick<ModelCard, "features" | "encoding"> & Partial<Pick<ModelCard, "ignored_columns">>;
/** The parts of a card `coerceStringRow` reads. */
export type FeaturesCard = Pick<ModelCard, "features">;

/** Per-field problems, keyed by field name ("$" when the input is not an object at all). */
export type FieldErrors = Record<string, string[]>;

export type EncodeResult =
  | { ok: true; vector: Float32Array; warnings: readonly string[] }
  | { ok: false; errors: FieldErrors };

/** The outcome of encoding into a caller's buffer: like `EncodeResult` without the vector. */
export type EncodeOutcome = { ok: true; warnings: readonly string[] } | { ok: false; errors: FieldErrors };

export interface Encoder {
  /** Validates `features` and returns a fresh vector of `width` floats, or the errors per field. */
  (features: Record<string, unknown>): EncodeResult;
  /** length of the encoded vector: `card.encoding.columns.length` */
  readonly width: number;
  /** the ONNX input the vector feeds */
  readonly inputName: string;
  /**
   * Writes the encoded row into `out[offset, offset + width)`. On failure that range is left
   * zeroed, so a batch buffer can reuse the slot.
   */
  encodeInto(features: Record<string, unknown>, out: Float32Array, offset: number): EncodeOutcome;
  /**
   * The card name (feature, alias or ignored column) a request field or CSV column stands for:
   * itself when it is one, else the one it spells differently (see FieldNames); undefined for none.
   */
  resolveField(name: string): string | undefined;
}

/** The card cannot be served: its features and encoding contradict each other. */
export class CardEncodingError extends Error {
  override name = "CardEncodingError";
}

/** Shared by every result without warnings, so the common case allocates no array. */
const NO_WARNINGS: readonly string[] = Object.freeze([]);

const YES = /^\s*(yes|true|1)\s*$/i;
const NO = /^\s*(no|false|0)\s*$/i;
const BLANK = /^\s*$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const Kind = { Number: 0, Integer: 1, Boolean: 2, Category: 3, Text: 4 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

const KIND_BY_TYPE: Record<FeatureSpec["type"], Kind> = {
  number: Kind.Number,
  integer: Kind.Integer,
  boolean: Kind.Boolean,
  category: Kind.Category,
  text: Kind.Text,
};

/** A text feature, compiled: the analyzer, term → column and idf, and the length limit. */
interface TextPlan {
  analyzer: Analyzer;
  columns: Map<string, { col: number; idf: number }>;
  weighting: Pick<TextAnalyzer, "tf" | "norm">;
  maxLength: number;
}

/**
 * The derived columns of a card (rules: `DERIVED_COLUMN_KINDS` in card.ts), as parallel arrays read
 * after every feature has its value: `values[a[k]]` and `values[b[k]]` are the features' indices
 * in the per-encoder value slots.
 */
interface DerivedPlan {
  count: number;
  /** DerivedOp per column */
  op: Uint8Array;
  col: Int32Array;
  a: Int32Array;
  b: Int32Array;
  scale: Float64Array;
  /** a ratio's value when its denominator is 0 */
  onZero: Float64Array;
}

const DerivedOp = { Product: 0, Difference: 1, Ratio: 2 } as const;
const DERIVED_OP: Record<DerivedColumn["kind"], number> = { product: DerivedOp.Product, difference: DerivedOp.Difference, ratio: DerivedOp.Ratio };

/** Largest finite float32: a derived value beyond it is clipped, so no column is ever ±Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Everything about one feature that the hot path needs, precomputed. */
interface FeaturePlan {
  name: string;
  /** the name and then the card's aliases, when it has any; null for the common case of none */
  names: string[] | null;
  /** this plan's index: its slot in the encoder's `values` (number/integer/boolean features) */
  slot: number;
  kind: Kind;
  required: boolean;
  /** encoded column of a number/integer/boolean feature; -1 when the model does not use it */
  numericCol: number;
  min: number;
  max: number;
  outOfRange: FeatureSpec["out_of_range"];
  /** category → encoded column (-1 for a known category without a column of its own) */
  categoryCols: Map<string, number>;
  rejectUnknown: boolean;
  /** a text feature's analyzer and vocabulary (its `term` columns); null for other kinds */
  text: TextPlan | null;
  /** a set-valued category feature (`multiple` in the card): multi-hot over its onehot columns */
  multiple: boolean;
  /** value written for a missing optional number/integer/boolean feature */
  defaultValue: number;
  /** column set to 1 for a missing optional category feature; -1 writes nothing */
  defaultCol: number;
  /** precomputed message fragments: "[0, 72]", "0 and 72", "\"a\", \"b\"" */
  intervalText: string;
  betweenText: string;
  allowedText: string;
}

/**
 * Compiles a card's features and encoding into an encoder.
 * @throws CardEncodingError when the card is inconsistent (a column naming an unknown feature, an
 *   optional number without a default, a default outside the categories, ...).
 */
export function createEncoder(card: EncodingCard): Encoder {
  const width = card.encoding.columns.length;
  const { plans, derived, accepted, ignored } = compilePlans(card);
  const fieldNames = new FieldNames([...accepted, ...ignored.keys()]);
  // each number/integer/boolean feature's final value (clipped or imputed), for derived columns;
  // encodeInto is synchronous, so one scratch array per encoder is never shared by two calls
  const values = new Float64Array(plans.length);

  function encodeInto(features: Record<string, unknown>, out: Float32Array, offset: number): EncodeOutcome {
    return encodeRow(features, out, offset, null);
  }

  /**
   * `sentAs` is null, or for a respelled row (encodeRespelled) maps each card name to the field the
   * caller sent, so that errors and warnings speak of the field as it was sent.
   */
  function encodeRow(features: Record<string, unknown>, out: Float32Array, offset: number, sentAs: ReadonlyMap<string, string> | null): EncodeOutcome {
    if (offset < 0 || offset + width > out.length) {
      throw new RangeError(`encodeInto: row [${offset}, ${offset + width}) does not fit a buffer of ${out.length}`);
    }
    out.fill(0, offset, offset + width);
    if (typeof features !== "object" || features === null || Array.isArray(features)) {
      return { ok: false, errors: { $: ["features must be a JSON object"] } };
    }
    let errors: FieldErrors | null = null;
    let warnings: string[] | null = null;
    let known = 0;

    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i]!;
      // the name the caller used: errors and warnings speak of the field as it was sent
      let field = plan.name;
      let value: unknown;
      if (plan.names === null) {
        if (Object.hasOwn(features, field)) {
          known++;
          value = features[field];
          if (sentAs !== null) field = sentAs.get(field)!;
        }
      } else {
        let found = false;
        for (const name of plan.names) {
          if (!Object.hasOwn(features, name)) continue;
          known++;
          const sent = sentAs === null ? name : sentAs.get(name)!;
          if (found) {
            errors = addError(errors, sent, `is another name of ${JSON.stringify(field)}, also given; send one of them`);
            continue;
          }
          found = true;
          field = sent;
          value = features[name];
        }
      }
      if (value === undefined || value === null) {
        errors = missing(plan, i, field, out, offset, errors);
        continue;
      }
      // A blank string (an empty CSV cell sent as JSON) is a missing value too, except for a text;
      // it is tested only where a value did not match, so valid input pays nothing for it.
      switch (plan.kind) {
        case Kind.Number:
        case Kind.Integer: {
          // decimal text is a number: callers that read a CSV without typing it send "29.85"
          if (typeof value === "string") {
            if (BLANK.test(value)) {
              errors = missing(plan, i, field, out, offset, errors);
              break;
            }
            if (DECIMAL.test(value.trim())) value = Number(value);
          }
          if (typeof value !== "number" || !Number.isFinite(value)) {
            errors = addError(errors, field, plan.kind === Kind.Integer ? "must be an integer" : "must be a number");
            break;
          }
          if (plan.kind === Kind.Integer && !Number.isInteger(value)) {
            errors = addError(errors, field, "must be an integer");
            break;
          }
          let x = value;
          if ((x < plan.min || x > plan.max) && plan.outOfRange !== "accept") {
            if (plan.outOfRange === "reject") {
              errors = addError(errors, field, `${field} must be between ${plan.betweenText}; got ${value}`);
              break;
            }
            x = x < plan.min ? plan.min : plan.max;
            (warnings ??= []).push(
              `${field}: ${value} is outside the training range ${plan.intervalText}; clipped to ${x}`,
            );
          }
          values[i] = x;
          if (plan.numericCol >= 0) out[offset + plan.numericCol] = x;
          break;
        }
        case Kind.Boolean: {
          const b = toBoolean(value);
          if (b === undefined && typeof value === "string" && BLANK.test(value)) {
            errors = missing(plan, i, field, out, offset, errors);
          } else if (b === undefined) {
            errors = addError(errors, field, 'must be a boolean: true/false, "Yes"/"No" or 0/1');
          } else {
            values[i] = b ? 1 : 0;
            if (plan.numericCol >= 0) out[offset + plan.numericCol] = values[i]!;
          }
          break;
        }
        case Kind.Text: {
          const problem = encodeText(plan.text!, value, out, offset);
          if (problem?.error) errors = addError(errors, field, problem.error);
          else if (problem?.warning) (warnings ??= []).push(`${field}: ${problem.warning}`);
          break;
        }
        case Kind.Category: {
          if (plan.multiple) {
            const problem = encodeMultiple(plan, field, value, out, offset);
            if (problem?.error) errors = addError(errors, field, problem.error);
            else if (problem?.warning) (warnings ??= []).push(problem.warning);
            break;
          }
          if (typeof value !== "string") {
            errors = addError(errors, field, `must be a string, one of ${plan.allowedText}`);
            break;
          }
          const col = plan.categoryCols.get(value);
          if (col === undefined) {
            if (BLANK.test(value)) {
              errors = missing(plan, i, field, out, offset, errors);
            } else if (plan.rejectUnknown) {
              errors = addError(errors, field, `${field} must be one of ${plan.allowedText}; got ${JSON.stringify(value)}`);
            } else {
              (warnings ??= []).push(
                `${field}: unknown category ${JSON.stringify(value)}; encoded as unknown (all its columns 0)`,
              );
            }
          } else if (col >= 0) {
            out[offset + col] = 1;
          }
          break;
        }
      }
    }

    // Unknown fields: counting own keys is cheap, and only a mismatch pays for finding them.
    let total = 0;
    for (const key in features) if (Object.hasOwn(features, key)) total++;
    if (total !== known) {
      for (const key in features) {
        if (!Object.hasOwn(features, key) || accepted.has(key)) continue;
        const reason = ignored.get(key);
        if (reason !== undefined) (warnings ??= []).push(`${sentAs === null ? key : sentAs.get(key)!}: not used by this model (${reason}); ignored`);
        else if (sentAs === null && fieldNames.resolve(key) !== undefined) return encodeRespelled(features, out, offset);
        else errors = addError(errors, key, "unknown field");
      }
    }

    if (errors !== null) {
      out.fill(0, offset, offset + width);
      return { ok: false, errors };
    }
    for (let k = 0; k < derived.count; k++) {
      const a = values[derived.a[k]!]!;
      const b = values[derived.b[k]!]!;
      let v: number;
      switch (derived.op[k]) {
        case DerivedOp.Product:
          v = a * b * derived.scale[k]!;
          break;
        case DerivedOp.Difference:
          v = (a - b) * derived.scale[k]!;
          break;
        default:
          v = b === 0 ? derived.onZero[k]! : (a / b) * derived.scale[k]!;
      }
      // finite inputs and a nonzero scale cannot make NaN; only an overflow is left to bound
      out[offset + derived.col[k]!] = v > FLOAT32_MAX ? FLOAT32_MAX : v < -FLOAT32_MAX ? -FLOAT32_MAX : v;
    }
    return { ok: true, warnings: warnings ?? NO_WARNINGS };
  }

  /** A row that names fields by another spelling of the card's names (a dataset file's own header). */
  function encodeRespelled(features: Record<string, unknown>, out: Float32Array, offset: number): EncodeOutcome {
    const respelled: Record<string, unknown> = {};
    const sentAs = new Map<string, string>();
    let errors: FieldErrors | null = null;
    for (const key in features) {
      if (!Object.hasOwn(features, key)) continue;
      const name = resolveField(key) ?? key;
      const earlier = sentAs.get(name);
      if (earlier === undefined) {
        sentAs.set(name, key);
        setOwn(respelled, name, features[key]);
      } else {
        // the error goes to the respelled one of the two
        errors = addError(errors, key === name ? earlier : key, `is another spelling of ${JSON.stringify(name)}, also given; send one of them`);
      }
    }
    if (errors !== null) {
      out.fill(0, offset, offset + width);
      return { ok: false, errors };
    }
    return encodeRow(respelled, out, offset, sentAs);
  }

  function resolveField(name: string): string | undefined {
    return accepted.has(name) || ignored.has(name) ? name : fieldNames.resolve(name);
  }

  /** A missing value: an optional feature gets its card default, a required one an error. */
  function missing(plan: FeaturePlan, i: number, field: string, out: Float32Array, offset: number, errors: FieldErrors | null): FieldErrors | null {
    if (plan.required) return addError(errors, field, "is required");
    if (plan.kind === Kind.Category) {
      if (plan.defaultCol >= 0) out[offset + plan.defaultCol] = 1;
    } else if (plan.kind !== Kind.Text) {
      values[i] = plan.defaultValue;
      if (plan.numericCol >= 0) out[offset + plan.numericCol] = plan.defaultValue;
    }
    return errors;
  }

  const encode = (features: Record<string, unknown>): EncodeResult => {
    const vector = new Float32Array(width);
    const outcome = encodeInto(features, vector, 0);
    return outcome.ok ? { ok: true, vector, warnings: outcome.warnings } : outcome;
  };
  return Object.assign(encode, { width, inputName: card.encoding.input_name, encodeInto, resolveField });
}

/** Rows packed for one batched inference call. */
export interface EncodedBatch {
  /** the rows that encoded, row-major: exactly `n * width` floats */
  flat: Float32Array;
  /** number of rows in `flat` */
  n: number;
  /** for each row of `flat`, its index in the input */
  rowIndex: Int32Array;
  /** one per input row: its warnings, or why it was rejected */
  outcomes: EncodeOutcome[];
}

/**
 * Encodes many rows into one buffer for a single `runBatch` call. Rejected rows are left out of
 * `flat` (and reported in `outcomes`), so the model only sees valid vectors.
 */
export function encodeBatch(encoder: Encoder, rows: readonly Record<string, unknown>[]): EncodedBatch {
  const width = encoder.width;
  const buffer = new Float32Array(rows.length * width);
  const rowIndex = new Int32Array(rows.length);
  const outcomes: EncodeOutcome[] = new Array<EncodeOutcome>(rows.length);
  let n = 0;
  for (let i = 0; i < rows.length; i++) {
    const outcome = encoder.encodeInto(rows[i]!, buffer, n * width);
    outcomes[i] = outcome;
    if (outcome.ok) rowIndex[n++] = i;
  }
  const flat = n === rows.length ? buffer : buffer.subarray(0, n * width);
  return { flat, n, rowIndex: rowIndex.subarray(0, n), outcomes };
}

/** Typed plans for `coerceStringRow`, cached per features array (cards are immutable once loaded). */
const coercionPlans = new WeakMap<readonly FeatureSpec[], Map<string, FeatureSpec["type"]>>();

/**
 * Turns a CSV row (all strings) into the JSON-typed features the encoder expects: numbers from
 * decimal strings, "0"/"1" and "true"/"false" for booleans, and an empty (or blank) cell as missing.
 * A value that does not parse is passed on unchanged, so the encoder reports it with the same
 * message a JSON caller would get; columns the card does not know are passed on too (the encoder
 * ignores the card's `ignored_columns` and rejects other unknown fields).
 */
export function coerceStringRow(card: FeaturesCard, row: Readonly<Record<string, string>>): Record<string, unknown> {
  let types = coercionPlans.get(card.features);
  if (types === undefined) {
    types = new Map(card.features.flatMap((f) => [f.name, ...(f.aliases ?? [])].map((name) => [name, f.type] as const)));
    coercionPlans.set(card.features, types);
  }
  const out: Record<string, unknown> = {};
  for (const key in row) {
    if (!Object.hasOwn(row, key)) continue;
    const raw = row[key];
    if (typeof raw !== "string") continue;
    const text = raw.trim();
    if (text === "") continue;
    let value: unknown = text;
    switch (types.get(key)) {
      case "number":
      case "integer":
        if (DECIMAL.test(text)) value = Number(text);
        break;
      case "boolean":
        if (text === "0" || text === "1") value = Number(text);
        else if (/^true$/i.test(text)) value = true;
        else if (/^false$/i.test(text)) value = false;
        break;
      case "category":
      case "text":
        break;
      case undefined:
        value = raw;
        break;
    }
    setOwn(out, key, value);
  }
  return out;
}

/** Most values a `multiple` category feature accepts in one request. */
export const MAX_MULTIPLE_VALUES = 1000;

/**
 * Multi-hot encoding of a set-valued category feature: a JSON array of strings, or one string with
 * the values separated by ";" (how a CSV cell carries a list). Duplicates count once. Unknown values
 * are skipped with one warning (or rejected when the feature says so).
 */
function encodeMultiple(plan: FeaturePlan, field: string, value: unknown, out: Float32Array, offset: number): { error?: string; warning?: string } | undefined {
  const values = typeof value === "string" ? value.split(";").map((v) => v.trim()).filter((v) => v !== "") : value;
  if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) {
    return { error: 'must be an array of strings (or one string of values separated by ";")' };
  }
  if (values.length > MAX_MULTIPLE_VALUES) return { error: `has ${values.length} values; at most ${MAX_MULTIPLE_VALUES} are accepted` };
  const unknown: string[] = [];
  for (const v of values as string[]) {
    const col = plan.categoryCols.get(v);
    if (col === undefined) unknown.push(v);
    else if (col >= 0) out[offset + col] = 1;
  }
  if (unknown.length === 0) return undefined;
  const shown = unknown.slice(0, 5).map((v) => JSON.stringify(v)).join(", ") + (unknown.length > 5 ? ", ..." : "");
  if (plan.rejectUnknown) return { error: `${unknown.length} unknown value(s): ${shown}` };
  return { warning: `${field}: ${unknown.length} unknown value(s) ignored: ${shown}` };
}

/**
 * TF-IDF of a text feature into its `term` columns (see text.ts). A non-string, a blank string or
 * one longer than the feature's `max_length` is an error; a text none of whose terms is in the
 * vocabulary encodes as all zeros with a warning (the model then scores its intercept alone).
 */
function encodeText(plan: TextPlan, value: unknown, out: Float32Array, offset: number): { error?: string; warning?: string } | undefined {
  if (typeof value !== "string") return { error: "must be a string" };
  if (value.length > plan.maxLength) return { error: `must be at most ${plan.maxLength} characters; got ${value.length}` };
  if (value.trim() === "") return { error: "must not be empty" };
  const found = writeTfidf(plan.analyzer.terms(value), plan.columns, plan.weighting, out, offset);
  if (found === 0) return { warning: "no word of the text is in the model's vocabulary; scored as a text without known words" };
  return undefined;
}

function toBoolean(value: unknown): boolean | undefined {
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  if (typeof value === "string") {
    if (YES.test(value)) return true;
    if (NO.test(value)) return false;
  }
  return undefined;
}

/** Adds a message; defineProperty so that a field called "__proto__" is a plain key, not a prototype. */
function addError(errors: FieldErrors | null, field: string, message: string): FieldErrors {
  const target = errors ?? {};
  const list = Object.hasOwn(target, field) ? target[field] : undefined;
  if (list) list.push(message);
  else setOwn(target, field, [message]);
  return target;
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

interface CompiledCard {
  plans: FeaturePlan[];
  derived: DerivedPlan;
  /** every field a request may send for a feature: names and aliases */
  accepted: Set<string>;
  /** ignored column → why the model does not use it */
  ignored: Map<string, string>;
}

function compilePlans(card: EncodingCard): CompiledCard {
  const plans = new Map<string, FeaturePlan>();
  const accepted = new Set<string>();
  const claim = (name: string, what: string) => {
    if (accepted.has(name)) throw new CardEncodingError(`${what} "${name}" is already the name or alias of a feature`);
    accepted.add(name);
  };
  for (const f of card.features) {
    if (plans.has(f.name)) throw new CardEncodingError(`feature "${f.name}" is declared twice`);
    claim(f.name, "feature");
    for (const alias of f.aliases ?? []) claim(alias, `feature "${f.name}": alias`);
    const kind = KIND_BY_TYPE[f.type];
    if (f.multiple && kind !== Kind.Category) throw new CardEncodingError(`feature "${f.name}": only category features can be multiple`);
    let text: TextPlan | null = null;
    if (kind === Kind.Text) {
      if (!f.analyzer) throw new CardEncodingError(`text feature "${f.name}" has no analyzer`);
      try {
        text = {
          analyzer: compileAnalyzer(f.analyzer),
          columns: new Map(),
          weighting: { tf: f.analyzer.tf, norm: f.analyzer.norm },
          maxLength: f.max_length ?? DEFAULT_TEXT_MAX_LENGTH,
        };
      } catch (cause) {
        if (cause instanceof TextAnalyzerError) throw new CardEncodingError(`text feature "${f.name}": ${cause.message}`, { cause });
        throw cause;
      }
    }
    if (kind === Kind.Category && (!f.categories || f.categories.length === 0)) {
      throw new CardEncodingError(`category feature "${f.name}" lists no categories`);
    }
    const categoryCols = new Map<string, number>((f.categories ?? []).map((c) => [c, -1]));
    const min = f.min ?? -Infinity;
    const max = f.max ?? Infinity;
    if (min > max) throw new CardEncodingError(`feature "${f.name}": min ${min} > max ${max}`);
    plans.set(f.name, {
      name: f.name,
      names: f.aliases?.length ? [f.name, ...f.aliases] : null,
      slot: plans.size,
      kind,
      required: f.required,
      numericCol: -1,
      min,
      max,
      outOfRange: f.out_of_range,
      categoryCols,
      rejectUnknown: f.unknown_category === "reject",
      multiple: f.multiple === true,
      text,
      defaultValue: 0,
      defaultCol: -1,
      intervalText: `[${f.min ?? "-inf"}, ${f.max ?? "inf"}]`,
      betweenText: `${f.min ?? "-inf"} and ${f.max ?? "inf"}`,
      allowedText: (f.categories ?? []).map((c) => JSON.stringify(c)).join(", "),
    });
  }

  const derivedColumns: Array<{ column: DerivedColumn; index: number }> = [];
  card.encoding.columns.forEach((column, index) => {
    if (isDerivedColumn(column)) {
      derivedColumns.push({ column, index });
      return;
    }
    const plan = plans.get(column.feature);
    if (!plan) throw new CardEncodingError(`encoding column ${index} names unknown feature "${column.feature}"`);
    if (column.kind === "term") {
      if (plan.kind !== Kind.Text) {
        throw new CardEncodingError(`encoding column ${index}: term column for non-text feature "${plan.name}"`);
      }
      if (plan.text!.columns.has(column.term)) throw new CardEncodingError(`feature "${plan.name}" encodes term "${column.term}" twice`);
      plan.text!.columns.set(column.term, { col: index, idf: column.idf });
    } else if (column.kind === "numeric") {
      if (plan.kind === Kind.Category || plan.kind === Kind.Text) {
        throw new CardEncodingError(`encoding column ${index}: category feature "${plan.name}" needs onehot columns`);
      }
      if (plan.numericCol >= 0) throw new CardEncodingError(`feature "${plan.name}" has two numeric columns`);
      plan.numericCol = index;
    } else {
      if (plan.kind !== Kind.Category) {
        throw new CardEncodingError(`encoding column ${index}: onehot column for non-category feature "${plan.name}"`);
      }
      const current = plan.categoryCols.get(column.category);
      if (current === undefined) {
        throw new CardEncodingError(`encoding column ${index}: "${column.category}" is not a category of "${plan.name}"`);
      }
      if (current >= 0) throw new CardEncodingError(`feature "${plan.name}" encodes "${column.category}" twice`);
      plan.categoryCols.set(column.category, index);
    }
  });

  for (const f of card.features) {
    const plan = plans.get(f.name)!;
    if (f.required || plan.kind === Kind.Text) continue; // a missing optional text: all its columns 0
    const fallback = f.default;
    if (plan.kind === Kind.Category) {
      if (fallback === undefined) continue; // missing → unknown (all zeros)
      const col = typeof fallback === "string" ? plan.categoryCols.get(fallback) : undefined;
      if (col === undefined) {
        throw new CardEncodingError(`feature "${f.name}": default ${JSON.stringify(fallback)} is not one of its categories`);
      }
      plan.defaultCol = col;
    } else if (plan.kind === Kind.Boolean) {
      const b = toBoolean(fallback);
      if (b === undefined) throw new CardEncodingError(`optional boolean feature "${f.name}" needs a boolean default`);
      plan.defaultValue = b ? 1 : 0;
    } else {
      if (typeof fallback !== "number" || !Number.isFinite(fallback)) {
        throw new CardEncodingError(`optional numeric feature "${f.name}" needs a numeric default (its imputation value)`);
      }
      plan.defaultValue = fallback;
    }
  }
  const ignored = new Map<string, string>();
  for (const column of card.ignored_columns ?? []) {
    if (accepted.has(column.name)) throw new CardEncodingError(`ignored column "${column.name}" is also the name or alias of a feature`);
    if (ignored.has(column.name)) throw new CardEncodingError(`ignored column "${column.name}" is listed twice`);
    ignored.set(column.name, column.reason);
  }
  return { plans: [...plans.values()], derived: compileDerived(derivedColumns, plans), accepted, ignored };
}

function compileDerived(columns: ReadonlyArray<{ column: DerivedColumn; index: number }>, plans: ReadonlyMap<string, FeaturePlan>): DerivedPlan {
  const n = columns.length;
  const derived: DerivedPlan = {
    count: n,
    op: new Uint8Array(n),
    col: new Int32Array(n),
    a: new Int32Array(n),
    b: new Int32Array(n),
    scale: new Float64Array(n),
    onZero: new Float64Array(n),
  };
  const seen = new Set<string>();
  columns.forEach(({ column, index }, k) => {
    const slots = column.features.map((name) => {
      const plan = plans.get(name);
      if (!plan) throw new CardEncodingError(`encoding column ${index} (${column.kind}) names unknown feature "${name}"`);
      if (plan.kind === Kind.Category || plan.kind === Kind.Text) {
        throw new CardEncodingError(`encoding column ${index} (${column.kind}): feature "${name}" is not a number, integer or boolean`);
      }
      return plan.slot;
    });
    const scale = column.scale ?? 1;
    if (!Number.isFinite(scale) || scale === 0) throw new CardEncodingError(`encoding column ${index} (${column.kind}): scale must be finite and not 0`);
    const onZero = column.kind === "ratio" ? (column.on_zero_denominator ?? 0) : 0;
    if (!Number.isFinite(onZero)) throw new CardEncodingError(`encoding column ${index} (ratio): on_zero_denominator must be finite`);
    const key = JSON.stringify([column.kind, column.features, scale, onZero]);
    if (seen.has(key)) throw new CardEncodingError(`encoding column ${index}: the same ${column.kind} of ${column.features.join(", ")} is encoded twice`);
    seen.add(key);
    derived.op[k] = DERIVED_OP[column.kind];
    derived.col[k] = index;
    derived.a[k] = slots[0]!;
    derived.b[k] = slots[1]!;
    derived.scale[k] = scale;
    derived.onZero[k] = onZero;
  });
  return derived;
}
