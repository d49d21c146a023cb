import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { ROOT_DIR } from "../../src/config.ts";
import {
  checkHeader,
  createRowValidator,
  HeaderError,
  importIdFor,
  MAX_EXAMPLES,
  parseTarget,
  PublishWindow,
  QualityReportBuilder,
  readCsvRecords,
  rowMessageId,
  rowPredictionId,
  RunningStats,
  type ImportContext,
} from "../../src/ingest/index.ts";
import { createEncoder, ModelCardSchema, type ModelRegistry } from "../../src/models/index.ts";
import { streamNames } from "../../src/streams/index.ts";

const names = streamNames("T_", "t.");
const ctx: ImportContext = { importId: "imp-1", userId: 7, tenantId: 1, createdAt: "2026-11-23T10:00:00.000Z", names };

/** The lead_scoring card as shipped, behind the one registry method the validator calls. */
function leadRegistry(): ModelRegistry {
  const card = ModelCardSchema.parse(JSON.parse(readFileSync(`${ROOT_DIR}/models/lead_scoring/1.0.0/card.json`, "utf8")));
  const model = { name: card.name, version: card.version, card, encoder: createEncoder(card) };
  return { get: (name: string) => (name === card.name ? model : assert.fail(`unknown model ${name}`)) } as unknown as ModelRegistry;
}

describe("quality report", () => {
  it("counts each cell once and scores the share of clean cells", () => {
    const r = new QualityReportBuilder(["a", "b"], ["note"]);
    r.markMissing("a");
    r.endRow(true); // row 1: a missing, b clean
    r.markInvalid(2, "b", "x", "must be a number");
    r.endRow(false); // row 2: a clean, b invalid
    r.markOutlier(3, "a", "1e9", "outside the training range");
    r.endRow(true); // row 3: a outlier, b clean
    r.markRowInvalid(4, "has 3 fields; the header has 2", "1,2,3");
    r.endRow(false); // row 4: both cells unclean
    r.endRow(true); // row 5: clean
    const q = r.build();
    assert.deepEqual(q.rows, { total: 5, valid: 3, rejected: 2 });
    assert.deepEqual(q.cells, { checked: 10, clean: 5 });
    assert.equal(q.quality_score, 50);
    assert.equal(q.missing_values, 1);
    assert.equal(q.invalid_formats, 2, "one cell and one unreadable row");
    assert.equal(q.outliers, 1);
    assert.deepEqual(q.columns, { a: { missing: 1, invalid: 0, outliers: 1 }, b: { missing: 0, invalid: 1, outliers: 0 } });
    assert.deepEqual(q.ignored_columns, ["note"]);
    assert.deepEqual(q.examples.invalid, [
      { row: 2, column: "b", value: "x", reason: "must be a number" },
      { row: 4, column: "$row", value: "1,2,3", reason: "has 3 fields; the header has 2" },
    ]);
  });

  it("has no score without data rows, and keeps only the first examples, clipped", () => {
    assert.equal(new QualityReportBuilder(["a"]).build().quality_score, null);
    const r = new QualityReportBuilder(["a"]);
    for (let i = 1; i <= 25; i++) {
      r.markInvalid(i, "a", "v".repeat(500), "bad");
      r.endRow(false);
    }
    const q = r.build();
    assert.equal(q.invalid_formats, 25);
    assert.equal(q.examples.invalid.length, MAX_EXAMPLES);
    assert.equal(q.examples.invalid[0]!.value.length, 201);
    assert.equal(q.quality_score, 0);
  });
});

describe("running outliers (Welford)", () => {
  it("matches the two-pass mean and standard deviation", () => {
    const xs = Array.from({ length: 1000 }, (_, i) => 1e6 + Math.sin(i) * 10 + (i % 7));
    const s = new RunningStats();
    for (const x of xs) s.observe(x);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
    assert.ok(Math.abs(s.stats.mean - mean) < 1e-6);
    assert.ok(Math.abs(s.stats.sd - sd) < 1e-9 * mean);
  });

  it("judges a value against the rows before it, once enough were seen", () => {
    const s = new RunningStats(4, 30);
    assert.equal(s.observe(1000), false, "nothing is an outlier during the warm-up");
    const t = new RunningStats(4, 30);
    for (let i = 0; i < 30; i++) assert.equal(t.observe(50 + (i % 5)), false);
    assert.equal(t.observe(56), false, "within 4σ");
    assert.equal(t.observe(5000), true);
    assert.equal(t.count, 32);
  });
});

describe("row validation", () => {
  const registry = leadRegistry();
  const header = ["company_size", "budget", "industry_score", "engagement_score", "id"];

  it("checks the header against the card: required columns, duplicates, blanks", () => {
    assert.throws(() => checkHeader(parseTarget("predict:lead_scoring"), ["budget"], registry, names), (e: unknown) => {
      assert.ok(e instanceof HeaderError);
      assert.deepEqual(e.details.missing_columns, ["company_size", "industry_score"]);
      return true;
    });
    assert.throws(() => checkHeader(parseTarget("predict:lead_scoring"), ["budget", "budget"], registry, names), /twice/);
    assert.throws(() => checkHeader(parseTarget("events:customer"), [""], registry, names), /no header row/);
    assert.throws(() => checkHeader(parseTarget("events:customer"), ["name"], registry, names), /"key" column/);
    checkHeader(parseTarget("events:customer"), ["id", "tenure"], registry, names);
  });

  it("reads a column under another spelling of a feature's name, and refuses a feature named twice", () => {
    const v = createRowValidator(parseTarget("predict:lead_scoring"), ["Company Size", "Budget", "industryScore", "ID"], registry, ctx);
    assert.deepEqual(v.checkedColumns, ["company_size", "budget", "industry_score"]);
    assert.deepEqual(v.ignoredColumns, ["ID"]);
    const m = v.toMessage(["51-200", "150000", "8.5", "L-1"], 2, new QualityReportBuilder(v.checkedColumns))!;
    assert.deepEqual((m.payload as { features: unknown }).features, { company_size: "51-200", budget: 150000, industry_score: 8.5 });
    assert.throws(
      () => checkHeader(parseTarget("predict:lead_scoring"), ["company_size", "budget", "Budget", "industry_score"], registry, names),
      /names feature "budget" 2 times \("budget", "Budget"\)/,
    );
  });

  it("builds the scorer's message for a valid row, with ids derived from the import and the row", () => {
    const v = createRowValidator(parseTarget("predict:lead_scoring"), header, registry, ctx);
    assert.deepEqual(v.checkedColumns, ["company_size", "budget", "industry_score", "engagement_score"]);
    assert.deepEqual(v.ignoredColumns, ["id"]);
    const r = new QualityReportBuilder(v.checkedColumns);
    const m = v.toMessage(["51-200", "150000", "8.5", "", "L-1"], 3, r)!;
    assert.equal(m.subject, "t.predict.lead_scoring");
    assert.equal(m.msgId, "imp-1:3");
    assert.deepEqual(m.payload, {
      prediction_id: rowPredictionId("imp-1", 3),
      features: { company_size: "51-200", budget: 150000, industry_score: 8.5 },
      source: "csv",
      user_id: 7,
      tenant_id: 1,
      requested_at: ctx.createdAt,
    });
    assert.equal(r.build().missing_values, 1, "the optional engagement_score is missing, not invalid");
  });

  it("rejects what the encoder rejects, and calls values outside the training data outliers", () => {
    const v = createRowValidator(parseTarget("predict:lead_scoring"), header, registry, ctx);
    const r = new QualityReportBuilder(v.checkedColumns);
    assert.equal(v.toMessage(["huge", "1000", "5", "5", ""], 1, r), null);
    assert.equal(v.toMessage(["1-10", "1000", "11", "5", ""], 2, r), null);
    assert.notEqual(v.toMessage(["1-10", "9e9", "5", "5", ""], 3, r), null, "a budget over the range is clipped, not rejected");
    assert.equal(v.toMessage(["1-10", "1000"], 4, r), null);
    const q = r.build();
    assert.deepEqual(
      q.examples.invalid.map((e) => [e.row, e.column]),
      [[1, "company_size"], [2, "industry_score"], [4, "$row"]],
    );
    assert.match(q.examples.invalid[1]!.reason, /between 1 and 10/);
    assert.deepEqual(q.examples.outliers.map((e) => [e.row, e.column]), [[3, "budget"]]);
  });

  it("makes event envelopes with typed data, defaults, and per-row key checks", () => {
    const v = createRowValidator(parseTarget("events:customer"), ["key", "type", "tenure", "paperless", "plan"], registry, ctx);
    const r = new QualityReportBuilder(v.checkedColumns);
    const m = v.toMessage(["c-1", "", "12", "TRUE", "gold"], 1, r)!;
    assert.equal(m.subject, "t.events.customer.c-1");
    const payload = m.payload as { data: object };
    // data has no prototype (a column may be called __proto__): compared as a plain copy
    assert.deepEqual({ ...payload, data: { ...payload.data } }, {
      id: rowMessageId("imp-1", 1),
      domain: "customer",
      key: "c-1",
      type: "import",
      data: { tenure: 12, paperless: true, plan: "gold" },
      timestamp: ctx.createdAt,
    });
    assert.equal(v.toMessage(["c 2", "x", "1", "", ""], 2, r), null);
    assert.equal(r.build().columns.key!.invalid, 1);
  });
});

describe("ids", () => {
  it("are the same for the same file, target and owner, and differ otherwise", () => {
    const sha = "a".repeat(64);
    const id = importIdFor(sha, parseTarget("predict:lead_scoring"), 1);
    assert.equal(importIdFor(sha, parseTarget("predict:lead_scoring"), 1), id);
    assert.notEqual(importIdFor(sha, parseTarget("predict:lead_scoring"), 2), id);
    assert.notEqual(importIdFor(sha, parseTarget("events:lead"), 1), id);
    assert.notEqual(rowPredictionId(id, 1), rowPredictionId(id, 2));
  });

  it("parses targets, refusing anything else", () => {
    assert.deepEqual(parseTarget("events:metric"), { kind: "events", domain: "metric" });
    for (const bad of ["events:weather", "predict:", "predict:a:b", "score:x", ""]) assert.throws(() => parseTarget(bad), /target must be/);
  });
});

describe("publish window", () => {
  const later = () => {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const p = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    return { p, resolve, reject };
  };

  it("checkpoints at the first unacknowledged row, passing over rows that are not published", async () => {
    const w = new PublishWindow(4);
    const [a, b] = [later(), later()];
    w.pass(1);
    w.add(2, a.p);
    w.pass(3);
    w.add(4, b.p);
    assert.equal(w.checkpoint(), 2);
    b.resolve();
    await Promise.resolve();
    assert.equal(w.checkpoint(), 2, "row 4's ack does not move the checkpoint past row 2");
    a.resolve();
    await w.flush();
    assert.equal(w.checkpoint(), 5);
  });

  it("is full at its limit, waits down to half, and reports a failed publish", async () => {
    const w = new PublishWindow(4);
    const acks = [later(), later(), later(), later()];
    acks.forEach((a, i) => w.add(i + 1, a.p));
    assert.equal(w.full, true);
    const room = w.room();
    acks[0]!.resolve();
    acks[1]!.resolve();
    await room;
    assert.equal(w.inFlight, 2);
    acks[2]!.reject(new Error("no responders"));
    await assert.rejects(w.flush(), /no responders/);
  });
});

describe("CSV records", () => {
  it("yields the trimmed header, then records in batches, keeping short rows for the validator", async () => {
    const csv = readCsvRecords(Readable.from(["\uFEFF a ,b\n1,2\n", "\n3\n4,\"5\n,6\"\n"]));
    const all: string[][] = [];
    for await (const batch of csv.batches) all.push(...batch);
    assert.deepEqual(all, [["a", "b"], ["1", "2"], ["3"], ["4", "5\n,6"]]);
    assert.ok(csv.bytesRead() > 0);
  });

  it("fails with the line of an unclosed quote", async () => {
    const csv = readCsvRecords(Readable.from(['a,b\n1,"2\n']));
    await assert.rejects(async () => {
      for await (const _ of csv.batches);
    }, /line 2: .*[Qq]uote/);
  });
});
