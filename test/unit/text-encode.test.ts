import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EncodedColumnSchema, FeatureSpecSchema, ModelCardSchema, type EncodedColumn } from "../../src/models/card.ts";
import { CardEncodingError, coerceStringRow, createEncoder, encodeBatch, type EncodingCard } from "../../src/models/encode.ts";
import { defaultAnalyzer } from "../../src/models/text.ts";

/** A text feature with a four-term vocabulary next to a numeric one. */
function card(overrides: Record<string, unknown> = {}, columns?: EncodedColumn[]): EncodingCard {
  const analyzer = defaultAnalyzer({ ngramMax: 2, tf: "binary" });
  return {
    features: [
      FeatureSpecSchema.parse({ name: "text", type: "text", required: true, analyzer, max_length: 50, ...overrides }),
      FeatureSpecSchema.parse({ name: "stars", type: "number", required: false, default: 3, min: 1, max: 5 }),
    ],
    encoding: {
      input_name: "x",
      columns: columns ?? [
        { kind: "term", feature: "text", term: "bad", idf: 2 }, // 0
        { kind: "numeric", feature: "stars" }, // 1
        { kind: "term", feature: "text", term: "good", idf: 1 }, // 2
        { kind: "term", feature: "text", term: "not_good", idf: 3 }, // 3
        { kind: "term", feature: "text", term: "very good", idf: 4 }, // 4
      ],
    },
  };
}

function vector(input: Record<string, unknown>, c = card()) {
  const r = createEncoder(c)(input);
  if (!r.ok) assert.fail(`expected ok, got ${JSON.stringify(r.errors)}`);
  return r;
}

function errors(input: Record<string, unknown>, c = card()) {
  const r = createEncoder(c)(input);
  if (r.ok) assert.fail(`expected errors, got ${[...r.vector]}`);
  return r.errors;
}

describe("encoder: text features", () => {
  it("writes L2-normalised tf-idf into the term columns and leaves the others alone", () => {
    const r = vector({ text: "Very good!", stars: 4 });
    // terms "very", "good", "very good" → known: good (idf 1), very good (idf 4); norm √17
    assert.ok(Math.abs(r.vector[2]! - 1 / Math.sqrt(17)) < 1e-6);
    assert.ok(Math.abs(r.vector[4]! - 4 / Math.sqrt(17)) < 1e-6);
    assert.equal(r.vector[0], 0);
    assert.equal(r.vector[3], 0);
    assert.equal(r.vector[1], 4);
    assert.deepEqual(r.warnings, []);
  });

  it("uses the negation marking of the card's analyzer", () => {
    const r = vector({ text: "not good" });
    assert.equal(r.vector[2], 0);
    assert.ok(Math.abs(r.vector[3]! - 1) < 1e-6, "only not_good is known: norm 1");
  });

  it("encodes a text without known words as zeros, with a warning", () => {
    const r = vector({ text: "xyzzy plugh" });
    assert.deepEqual([...r.vector], [0, 3, 0, 0, 0]);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /^text: no word of the text is in the model's vocabulary/);
  });

  it("rejects a missing, non-string, blank or too long text", () => {
    assert.deepEqual(errors({}), { text: ["is required"] });
    assert.deepEqual(errors({ text: null }), { text: ["is required"] });
    assert.deepEqual(errors({ text: 42 }), { text: ["must be a string"] });
    assert.deepEqual(errors({ text: ["good"] }), { text: ["must be a string"] });
    assert.deepEqual(errors({ text: "" }), { text: ["must not be empty"] });
    assert.deepEqual(errors({ text: " \n\t " }), { text: ["must not be empty"] });
    assert.deepEqual(errors({ text: "g".repeat(51) }), { text: ["must be at most 50 characters; got 51"] });
    assert.ok(vector({ text: "good ".repeat(10) }).vector[2]! > 0, "exactly max_length is accepted");
  });

  it("defaults to 10,000 characters when the spec states no max_length", () => {
    const c = card({ max_length: undefined });
    assert.ok(createEncoder(c)({ text: "good ".repeat(2000) }).ok);
    assert.deepEqual(errors({ text: "x".repeat(10_001) }, c), { text: ["must be at most 10000 characters; got 10001"] });
  });

  it("encodes an absent optional text as zeros", () => {
    const r = vector({}, card({ required: false }));
    assert.deepEqual([...r.vector], [0, 3, 0, 0, 0]);
  });

  it("batches text rows and coerces CSV cells to text", () => {
    const encoder = createEncoder(card());
    const batch = encodeBatch(encoder, [{ text: "good" }, { text: "" }, { text: "bad, bad" }]);
    assert.equal(batch.n, 2);
    assert.deepEqual([...batch.rowIndex], [0, 2]);
    assert.ok(Math.abs(batch.flat[5]! - 1) < 1e-6, "row 2 (bad) column 0");
    assert.deepEqual(coerceStringRow(card(), { text: "  good  ", stars: "4" }), { text: "good", stars: 4 });
    assert.deepEqual(coerceStringRow(card(), { text: "  " }), {});
  });

  it("refuses inconsistent cards", () => {
    assert.throws(() => createEncoder(card({ analyzer: undefined })), /text feature "text" has no analyzer/);
    assert.throws(() => createEncoder(card({ analyzer: { ...defaultAnalyzer(), token_pattern: "(" } })), CardEncodingError);
    assert.throws(() => createEncoder(card({}, [{ kind: "numeric", feature: "text" }])), CardEncodingError);
    assert.throws(() => createEncoder(card({}, [{ kind: "term", feature: "stars", term: "good", idf: 1 }])), /term column for non-text feature/);
    assert.throws(
      () => createEncoder(card({}, [{ kind: "term", feature: "text", term: "good", idf: 1 }, { kind: "term", feature: "text", term: "good", idf: 2 }])),
      /encodes term "good" twice/,
    );
  });

  it("keeps older cards valid: the schema additions are optional", () => {
    assert.equal(EncodedColumnSchema.safeParse({ kind: "term", feature: "text", term: "x", idf: 0 }).success, false, "idf must be positive");
    const old = FeatureSpecSchema.parse({ name: "a", type: "number", required: true });
    assert.equal(old.analyzer, undefined);
    assert.equal(old.max_length, undefined);
    assert.ok(ModelCardSchema.shape.score_buckets.safeParse(undefined).success);
  });
});
