import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FeatureSpecSchema, type EncodedColumn, type FeatureSpec } from "../../src/models/card.ts";
import { CardEncodingError, coerceStringRow, createEncoder, encodeBatch, type EncodingCard } from "../../src/models/encode.ts";

const feature = (spec: Record<string, unknown>): FeatureSpec => FeatureSpecSchema.parse(spec);

/** A card covering every feature type and every policy. Column order is noted beside each. */
function card(overrides: Partial<Record<string, Record<string, unknown>>> = {}): EncodingCard {
  const features = [
    feature({ name: "age", type: "integer", required: true, min: 18, max: 100, out_of_range: "clip", ...overrides["age"] }),
    feature({ name: "income", type: "number", required: true, min: 0, max: 1000, out_of_range: "reject", ...overrides["income"] }),
    feature({ name: "plan", type: "category", required: true, categories: ["basic", "pro", "team"], unknown_category: "map_unknown", ...overrides["plan"] }),
    feature({ name: "region", type: "category", required: false, categories: ["eu", "us"], unknown_category: "reject", default: "us", ...overrides["region"] }),
    feature({ name: "score", type: "number", required: false, min: -1, max: 1, default: 0.25, ...overrides["score"] }),
    feature({ name: "active", type: "boolean", required: false, default: true, ...overrides["active"] }),
    feature({ name: "visits", type: "integer", required: false, min: 0, max: 50, default: 3, out_of_range: "accept" }),
  ];
  const columns: EncodedColumn[] = [
    { kind: "numeric", feature: "age" }, // 0
    { kind: "numeric", feature: "income" }, // 1
    { kind: "onehot", feature: "plan", category: "basic" }, // 2
    { kind: "onehot", feature: "plan", category: "pro" }, // 3
    { kind: "onehot", feature: "plan", category: "team" }, // 4
    { kind: "onehot", feature: "region", category: "eu" }, // 5
    { kind: "onehot", feature: "region", category: "us" }, // 6
    { kind: "numeric", feature: "score" }, // 7
    { kind: "numeric", feature: "active" }, // 8
    { kind: "numeric", feature: "visits" }, // 9
  ];
  return { features, encoding: { input_name: "x", columns } };
}

const full = { age: 30, income: 120.5, plan: "pro", region: "eu", score: -0.5, active: false, visits: 7 };

function omit(input: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _, ...rest } = input;
  return rest;
}

function encodeOk(input: Record<string, unknown>, c = card()) {
  const result = createEncoder(c)(input);
  if (!result.ok) assert.fail(`expected ok, got ${JSON.stringify(result.errors)}`);
  return result;
}

function encodeErrors(input: Record<string, unknown>, c = card()) {
  const result = createEncoder(c)(input);
  if (result.ok) assert.fail(`expected errors, got vector ${[...result.vector]}`);
  return result.errors;
}

describe("createEncoder", () => {
  it("encodes every feature into its column", () => {
    const result = encodeOk(full);
    assert.deepEqual([...result.vector], [30, 120.5, 0, 1, 0, 1, 0, -0.5, 0, 7]);
    assert.deepEqual(result.warnings, []);
    const encoder = createEncoder(card());
    assert.equal(encoder.width, 10);
    assert.equal(encoder.inputName, "x");
  });

  it("rejects an unknown field", () => {
    assert.deepEqual(encodeErrors({ ...full, colour: "red" }), { colour: ["unknown field"] });
    // a JSON key "__proto__" is an own property: it is reported, and does not replace the prototype of errors
    const errors = encodeErrors(JSON.parse(`{"age":30,"income":1,"plan":"pro","__proto__":{"x":1}}`));
    assert.deepEqual(Object.keys(errors), ["__proto__"]);
    assert.deepEqual(Object.getOwnPropertyDescriptor(errors, "__proto__")?.value, ["unknown field"]);
  });

  it("reports every missing required feature, and treats null as missing", () => {
    assert.deepEqual(encodeErrors({ plan: "pro", age: null }), { age: ["is required"], income: ["is required"] });
  });

  it("accepts numbers, or their decimal text, for number features and integers for integer features", () => {
    assert.equal(encodeOk({ ...full, income: "120" }).vector[1], 120);
    assert.equal(encodeOk({ ...full, income: " 1.5e2 " }).vector[1], 150);
    assert.equal(encodeOk({ ...full, age: "30" }).vector[0], 30);
    assert.deepEqual(encodeErrors({ ...full, income: "12O" }), { income: ["must be a number"] });
    assert.deepEqual(encodeErrors({ ...full, income: "0x10" }), { income: ["must be a number"] });
    assert.deepEqual(encodeErrors({ ...full, income: "Infinity" }), { income: ["must be a number"] });
    assert.deepEqual(encodeErrors({ ...full, income: Number.NaN }), { income: ["must be a number"] });
    assert.deepEqual(encodeErrors({ ...full, age: 30.5 }), { age: ["must be an integer"] });
    assert.deepEqual(encodeErrors({ ...full, age: "30.5" }), { age: ["must be an integer"] });
    assert.deepEqual(encodeErrors({ ...full, age: true }), { age: ["must be an integer"] });
    assert.equal(encodeOk({ ...full, age: 31.0 }).vector[0], 31);
    // decimal text is range-checked like a number
    assert.deepEqual(encodeErrors({ ...full, income: "1000.01" }), { income: ["income must be between 0 and 1000; got 1000.01"] });
  });

  it("treats a blank string as missing, except for a text: the default, or 'is required'", () => {
    const result = encodeOk({ ...full, region: "", score: " ", active: "", visits: "\t" });
    assert.deepEqual([...result.vector], [30, 120.5, 0, 1, 0, 0, 1, 0.25, 1, 3]);
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(encodeErrors({ ...full, age: "", income: " ", plan: "" }), { age: ["is required"], income: ["is required"], plan: ["is required"] });
  });

  it("accepts true/false, Yes/No in any case and 0/1 (or their text) for booleans, nothing else", () => {
    for (const [value, expected] of [
      [true, 1],
      [false, 0],
      ["Yes", 1],
      ["yes", 1],
      ["YES", 1],
      ["No", 0],
      ["nO", 0],
      [1, 1],
      [0, 0],
      ["true", 1],
      ["FALSE", 0],
      ["1", 1],
      [" 0 ", 0],
    ] as const) {
      assert.equal(encodeOk({ ...full, active: value }).vector[8], expected, `active=${String(value)}`);
    }
    for (const bad of ["y", "2", "yes please", 2, 0.5, [], {}]) {
      const errors = encodeErrors({ ...full, active: bad });
      assert.deepEqual(Object.keys(errors), ["active"], `active=${JSON.stringify(bad)}`);
      assert.match(errors["active"]![0]!, /must be a boolean/);
    }
  });

  it("requires a string for a category", () => {
    const errors = encodeErrors({ ...full, plan: 2 });
    assert.match(errors["plan"]![0]!, /must be a string, one of "basic", "pro", "team"/);
  });

  it("clips an out-of-range value when the feature says clip, with a warning", () => {
    const high = encodeOk({ ...full, age: 130 });
    assert.equal(high.vector[0], 100);
    assert.equal(high.warnings.length, 1);
    assert.match(high.warnings[0]!, /^age: 130 is outside the training range \[18, 100\]; clipped to 100$/);
    const low = encodeOk({ ...full, age: 5, score: -3 });
    assert.equal(low.vector[0], 18);
    assert.equal(low.vector[7], -1);
    assert.equal(low.warnings.length, 2);
  });

  it("rejects an out-of-range value when the feature says reject, naming the field and the range", () => {
    const errors = encodeErrors({ ...full, income: 1000.01 });
    assert.deepEqual(errors, { income: ["income must be between 0 and 1000; got 1000.01"] });
    assert.ok(encodeOk({ ...full, income: 1000 }).vector[1] === 1000, "the bounds themselves are in range");
  });

  it("passes an out-of-range value through when the feature says accept", () => {
    const result = encodeOk({ ...full, visits: 500 });
    assert.equal(result.vector[9], 500);
    assert.deepEqual(result.warnings, []);
  });

  it("maps an unknown category to all zeros with a warning when the feature says map_unknown", () => {
    const result = encodeOk({ ...full, plan: "enterprise" });
    assert.deepEqual([...result.vector.subarray(2, 5)], [0, 0, 0]);
    assert.deepEqual(result.warnings, ['plan: unknown category "enterprise"; encoded as unknown (all its columns 0)']);
    // categories are matched exactly
    assert.equal(encodeOk({ ...full, plan: "Pro" }).warnings.length, 1);
  });

  it("rejects an unknown category listing the allowed values when the feature says reject", () => {
    assert.deepEqual(encodeErrors({ ...full, region: "apac" }), { region: ['region must be one of "eu", "us"; got "apac"'] });
  });

  it("fills missing optional features with their defaults", () => {
    const result = encodeOk({ age: 30, income: 10, plan: "basic" });
    assert.deepEqual([...result.vector], [30, 10, 1, 0, 0, 0, 1, 0.25, 1, 3]);
    assert.deepEqual(result.warnings, []);
    const withNulls = encodeOk({ age: 30, income: 10, plan: "basic", region: null, score: null, active: null });
    assert.deepEqual([...withNulls.vector], [...result.vector]);
  });

  it("collects all errors of one input at once", () => {
    const errors = encodeErrors({ age: "x", income: -1, plan: "pro", region: "mars", extra: 1 });
    assert.deepEqual(Object.keys(errors).sort(), ["age", "extra", "income", "region"]);
  });

  it("rejects inputs that are not objects", () => {
    assert.deepEqual(encodeErrors([] as unknown as Record<string, unknown>), { $: ["features must be a JSON object"] });
    assert.deepEqual(encodeErrors(null as unknown as Record<string, unknown>), { $: ["features must be a JSON object"] });
  });

  it("leaves a failed row's slot zeroed in encodeInto", () => {
    const encoder = createEncoder(card());
    const out = new Float32Array(30).fill(9);
    const outcome = encoder.encodeInto({ ...full, age: "old" }, out, 10);
    assert.equal(outcome.ok, false);
    assert.deepEqual([...out.subarray(10, 20)], new Array(10).fill(0));
    assert.equal(out[9], 9);
    assert.equal(out[20], 9);
    assert.throws(() => encoder.encodeInto(full, out, 25), RangeError);
  });

  it("takes a feature under any of its names, and speaks of it by the name sent", () => {
    const c = { ...card({ plan: { aliases: ["tier", "plan_name"] } }) };
    const byAlias = encodeOk({ ...omit(full, "plan"), tier: "pro" }, c);
    assert.deepEqual([...byAlias.vector], [...encodeOk(full, c).vector]);
    assert.deepEqual(encodeOk({ ...omit(full, "plan"), plan_name: "gold" }, c).warnings, [
      'plan_name: unknown category "gold"; encoded as unknown (all its columns 0)',
    ]);
    assert.deepEqual(encodeErrors({ ...full, tier: "pro" }, c), { tier: ['is another name of "plan", also given; send one of them'] });
    assert.deepEqual(encodeErrors(omit(full, "plan"), c), { plan: ["is required"] });
    const numeric = card({ income: { aliases: ["x2"] } });
    assert.deepEqual(encodeErrors({ ...omit(full, "income"), x2: 5000 }, numeric), { x2: ["x2 must be between 0 and 1000; got 5000"] });
  });

  it("ignores the card's ignored columns with a warning; other unknown fields are still errors", () => {
    const c = { ...card(), ignored_columns: [{ name: "customer_id", reason: "an identifier" }, { name: "churn", reason: "the label" }] };
    const result = encodeOk({ ...full, customer_id: "c-1", churn: "Yes" }, c);
    assert.deepEqual([...result.vector], [...encodeOk(full, c).vector]);
    assert.deepEqual(result.warnings, ["customer_id: not used by this model (an identifier); ignored", "churn: not used by this model (the label); ignored"]);
    assert.deepEqual(encodeErrors({ ...full, churn: "Yes", colour: "red" }, c), { colour: ["unknown field"] });
  });

  it("takes a field under another spelling of its card name, as a dataset file's header spells it, and speaks of it as sent", () => {
    const c = { ...card({ plan: { aliases: ["plan_name"] } }), ignored_columns: [{ name: "customer_id", reason: "an identifier" }] };
    const header = { Age: 30, INCOME: 120.5, Plan: "pro", REGION: "eu", score: -0.5, Active: false, Visits: 7, customerID: "c-1" };
    const result = encodeOk(header, c);
    assert.deepEqual([...result.vector], [...encodeOk(full, c).vector]);
    assert.deepEqual(result.warnings, ["customerID: not used by this model (an identifier); ignored"]);
    assert.deepEqual(encodeErrors({ ...header, INCOME: 5000 }, c), { INCOME: ["INCOME must be between 0 and 1000; got 5000"] });
    assert.deepEqual(encodeOk({ ...omit(header, "Plan"), PlanName: "gold" }, c).warnings, [
      'PlanName: unknown category "gold"; encoded as unknown (all its columns 0)',
      "customerID: not used by this model (an identifier); ignored",
    ]);
    // one field twice: under two spellings, or under another spelling of an alias
    assert.deepEqual(encodeErrors({ ...full, AGE: 31 }, c), { AGE: ['is another spelling of "age", also given; send one of them'] });
    assert.deepEqual(encodeErrors({ ...header, age: 31 }, c), { Age: ['is another spelling of "age", also given; send one of them'] });
    assert.deepEqual(encodeErrors({ ...header, PlanName: "pro" }, c), { PlanName: ['is another name of "Plan", also given; send one of them'] });
    assert.deepEqual(encodeErrors({ ...header, Colour: "red" }, c), { Colour: ["unknown field"] });
    const encoder = createEncoder(c);
    assert.equal(encoder.resolveField("Income [EUR]"), undefined, "a unit is not part of the name");
    assert.equal(encoder.resolveField("PLAN_NAME"), "plan_name");
    assert.equal(encoder.resolveField("customerID"), "customer_id");
    assert.equal(encoder.resolveField("plan"), "plan");
  });

  it("leaves a spelling that two card names share to the exact names", () => {
    const c = { ...card(), ignored_columns: [{ name: "Score", reason: "the file's own score" }] };
    assert.deepEqual(encodeOk({ ...full, Score: 9 }, c).warnings, ["Score: not used by this model (the file's own score); ignored"]);
    assert.deepEqual(encodeErrors({ ...full, SCORE: 9 }, c), { SCORE: ["unknown field"] });
  });

  it("rejects inconsistent cards when compiled", () => {
    const c = card();
    assert.throws(() => createEncoder(card({ score: { default: undefined } })), CardEncodingError);
    assert.throws(() => createEncoder(card({ region: { default: "asia" } })), CardEncodingError);
    assert.throws(() => createEncoder(card({ active: { default: "maybe" } })), CardEncodingError);
    assert.throws(
      () => createEncoder({ ...c, encoding: { input_name: "x", columns: [...c.encoding.columns, { kind: "numeric", feature: "nope" }] } }),
      CardEncodingError,
    );
    assert.throws(
      () => createEncoder({ ...c, encoding: { input_name: "x", columns: [...c.encoding.columns, { kind: "onehot", feature: "plan", category: "gold" }] } }),
      CardEncodingError,
    );
    assert.throws(
      () => createEncoder({ ...c, encoding: { input_name: "x", columns: [{ kind: "numeric", feature: "plan" }] } }),
      CardEncodingError,
    );
    // a name taken twice: an alias of another feature's name, of another alias, or an ignored column
    assert.throws(() => createEncoder(card({ plan: { aliases: ["age"] } })), /alias "age" is already the name or alias of a feature/);
    assert.throws(() => createEncoder(card({ plan: { aliases: ["tier"] }, region: { aliases: ["tier"] } })), CardEncodingError);
    assert.throws(() => createEncoder({ ...c, ignored_columns: [{ name: "income", reason: "x" }] }), /ignored column "income" is also/);
    assert.throws(() => createEncoder({ ...c, ignored_columns: [{ name: "id", reason: "x" }, { name: "id", reason: "y" }] }), /listed twice/);
  });
});

describe("encodeBatch", () => {
  it("packs the valid rows and reports the rejected ones", () => {
    const encoder = createEncoder(card());
    const rows = [full, { ...full, age: "x" }, { ...full, age: 200 }, { nope: 1 }, { age: 20, income: 1, plan: "team" }];
    const batch = encodeBatch(encoder, rows);
    assert.equal(batch.n, 3);
    assert.equal(batch.flat.length, 3 * 10);
    assert.deepEqual([...batch.rowIndex], [0, 2, 4]);
    assert.deepEqual([...batch.flat.subarray(0, 10)], [...encodeOk(full).vector]);
    assert.equal(batch.flat[10], 100); // clipped
    assert.deepEqual([...batch.flat.subarray(20, 30)], [20, 1, 0, 0, 1, 0, 1, 0.25, 1, 3]);
    assert.equal(batch.outcomes.length, 5);
    assert.equal(batch.outcomes[1]!.ok, false);
    assert.equal(batch.outcomes[3]!.ok, false);
    const clipped = batch.outcomes[2]!;
    assert.ok(clipped.ok && clipped.warnings.length === 1);
  });
});

describe("coerceStringRow", () => {
  const c = card();
  it("parses numbers and booleans, and treats empty cells as missing", () => {
    const row = coerceStringRow(c, { age: "30", income: " 120.5 ", plan: "pro", region: "", score: "  ", active: "1", visits: "7" });
    assert.deepEqual(row, { age: 30, income: 120.5, plan: "pro", active: 1, visits: 7 });
    assert.deepEqual(coerceStringRow(c, { active: "No" }), { active: "No" });
    assert.deepEqual(coerceStringRow(c, { active: "TRUE" }), { active: true });
    assert.deepEqual(coerceStringRow(c, { active: "0" }), { active: 0 });
    assert.deepEqual(coerceStringRow(c, { income: "1e3" }), { income: 1000 });
    // an alias is typed as its feature
    assert.deepEqual(coerceStringRow(card({ income: { aliases: ["x2"] } }), { x2: "5" }), { x2: 5 });
  });

  it("feeds the same encoder: defaults for missing cells, the same errors for bad ones", () => {
    const encoder = createEncoder(c);
    const result = encoder(coerceStringRow(c, { age: "30", income: "10", plan: "basic", region: "", score: "", active: "", visits: "" }));
    assert.ok(result.ok);
    assert.deepEqual([...result.vector], [30, 10, 1, 0, 0, 0, 1, 0.25, 1, 3]);

    const bad = encoder(coerceStringRow(c, { age: "3O", income: "0x10", plan: "pro", active: "maybe", id: "c-1" }));
    assert.ok(!bad.ok);
    assert.deepEqual(bad.errors["age"], ["must be an integer"]);
    assert.deepEqual(bad.errors["income"], ["must be a number"]);
    assert.match(bad.errors["active"]![0]!, /must be a boolean/);
    assert.deepEqual(bad.errors["id"], ["unknown field"]);

    const fractional = encoder(coerceStringRow(c, { age: "30.5", income: "1", plan: "pro" }));
    assert.ok(!fractional.ok);
    assert.deepEqual(fractional.errors, { age: ["must be an integer"] });
  });
});
