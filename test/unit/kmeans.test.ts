import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { ModelCardSchema } from "../../src/models/card.ts";
import { encodeBatch } from "../../src/models/encode.ts";
import { runBatchOutputs } from "../../src/models/onnx-runtime.ts";
import { fitKMeans, nameSegments, nearest, silhouette, squaredDistance } from "../../src/training/kmeans.ts";
import { readCard, readParity } from "../../src/training/artifacts.ts";
import { applyRfmTransform, computeRfm, fitRfmTransform, type PurchaseLine } from "../../src/training/rfm.ts";
import { mulberry32 } from "../../src/training/split.ts";
import { buildCustomerSegments, SEGMENT_DEFAULTS, type SegmentParityRow } from "../../src/training/trainers/customer-segments.ts";
import type { LoadedModel } from "../../src/models/registry.ts";
import { loadedModel, predict, shippedModel } from "../helpers/loaded-model.ts";

const DAY = 86_400_000;
const REFERENCE = Date.UTC(2021, 6, 1);

/**
 * Seeded purchase lines of four kinds of customer over 180 days: frequent big spenders who bought
 * last week, regulars, recent one-off buyers, and one-off buyers who left months ago.
 */
function purchases(seed: number): PurchaseLine[] {
  const random = mulberry32(seed);
  const kinds = [
    { customers: 40, invoices: [6, 14], lastWithin: [0, 10], spend: [300, 900] },
    { customers: 80, invoices: [2, 5], lastWithin: [15, 60], spend: [80, 300] },
    { customers: 60, invoices: [1, 1], lastWithin: [0, 20], spend: [20, 120] },
    { customers: 120, invoices: [1, 2], lastWithin: [90, 175], spend: [10, 80] },
  ];
  const lines: PurchaseLine[] = [];
  let customer = 10000;
  let invoice = 500000;
  const between = (range: number[]) => range[0]! + random() * (range[1]! - range[0]!);
  for (const kind of kinds) {
    for (let c = 0; c < kind.customers; c++) {
      const id = String(customer++);
      const count = Math.round(between(kind.invoices));
      const last = REFERENCE - between(kind.lastWithin) * DAY - DAY / 2;
      for (let k = 0; k < count; k++) {
        const time = k === 0 ? last : last - random() * (178 - (REFERENCE - last) / DAY) * DAY;
        const no = String(invoice++);
        for (let l = 0; l < 3; l++) lines.push({ customerId: id, invoice: no, time, quantity: 1 + Math.floor(random() * 4), unitPrice: between(kind.spend) / 6 });
      }
    }
  }
  return lines;
}

const SOURCE = { dataset: "fixture", source: "generated in test", files: [], notes: "" };

describe("rfm", () => {
  it("measures recency in whole days, frequency in invoices, monetary in spend", () => {
    const lines: PurchaseLine[] = [
      { customerId: "2", invoice: "a", time: REFERENCE - 3.5 * DAY, quantity: 2, unitPrice: 1.25 },
      { customerId: "2", invoice: "a", time: REFERENCE - 3.5 * DAY, quantity: 1, unitPrice: 10 },
      { customerId: "2", invoice: "b", time: REFERENCE - 40 * DAY, quantity: 3, unitPrice: 1 },
      { customerId: "1", invoice: "c", time: REFERENCE - 0.2 * DAY, quantity: 1, unitPrice: 0.5 },
    ];
    assert.deepEqual(computeRfm(lines, REFERENCE), [
      { customerId: "1", recency_days: 0, frequency: 1, monetary: 0.5 },
      { customerId: "2", recency_days: 3, frequency: 2, monetary: 15.5 },
    ]);
    assert.throws(() => computeRfm([{ ...lines[0]!, time: REFERENCE }], REFERENCE), RangeError);
  });

  it("standardises log1p values", () => {
    const rows = [
      { recency_days: 0, frequency: 1, monetary: 10 },
      { recency_days: 30, frequency: 3, monetary: 1000 },
    ];
    const t = fitRfmTransform(rows);
    const z = rows.map((r) => applyRfmTransform(t, r));
    for (let j = 0; j < 3; j++) {
      assert.ok(Math.abs(z[0]![j]! + z[1]![j]!) < 1e-12, "centred");
      assert.ok(Math.abs(Math.abs(z[0]![j]!) - 1) < 1e-12, "unit sd");
    }
  });
});

describe("k-means helpers", () => {
  it("silhouette matches a hand computation", () => {
    // clusters {0, 1} and {4}: point 0: a = 1, b = 4 → 0.75; point 1: a = 1, b = 3 → 2/3; point 2 alone → 0
    const s = silhouette([[0], [1], [4]], [0, 0, 1], 2);
    assert.ok(Math.abs(s - (0.75 + 2 / 3) / 3) < 1e-12, String(s));
  });

  it("fitKMeans finds well-separated blobs, deterministically", () => {
    const random = mulberry32(3);
    const centres = [[0, 0], [10, 0], [0, 10]];
    const points = Array.from({ length: 150 }, (_, i) => centres[i % 3]!.map((c) => c + random() - 0.5));
    const a = fitKMeans(points, 3, { seed: 1, restarts: 3, maxIterations: 100 });
    const b = fitKMeans(points, 3, { seed: 1, restarts: 3, maxIterations: 100 });
    assert.deepEqual(a, b);
    for (const c of centres) assert.ok(a.centroids.some((m) => squaredDistance(m, c) < 0.1), `a centroid near ${c}`);
    assert.ok(silhouette(points, a.assignments, 3) > 0.9);
    assert.equal(nearest([9, 1], a.centroids), nearest(centres[1]!, a.centroids));
  });

  it("names segments from centroid percentiles, first rule first, duplicates numbered", () => {
    const population = Array.from({ length: 100 }, (_, i) => ({ recency_days: i, frequency: 1 + (i % 10), monetary: 10 * (i % 20) }));
    const named = nameSegments(
      [
        { recency_days: 2, frequency: 10, monetary: 190 }, // recent, top value
        { recency_days: 20, frequency: 6, monetary: 120 }, // recent, above median
        { recency_days: 5, frequency: 1, monetary: 10 }, // recent, one order
        { recency_days: 90, frequency: 9, monetary: 180 }, // long ago, high value
        { recency_days: 95, frequency: 2, monetary: 20 }, // long ago, low value
        { recency_days: 80, frequency: 1, monetary: 10 }, // long ago, lower value still
      ],
      population,
    );
    assert.deepEqual(
      named.map((s) => s.name),
      ["Champions", "Loyal customers", "New customers", "At risk", "Hibernating", "Hibernating (2)"],
    );
    assert.equal(named[0]!.rule, "r >= 0.5 and value >= 0.75");
  });
});

describe("customer_segments trainer on a generated fixture", () => {
  const lines = purchases(11);
  const trained = buildCustomerSegments(lines, REFERENCE, SOURCE, { ...SEGMENT_DEFAULTS, kRange: [2, 6], restarts: 4 }, () => {}, new Date("2020-01-01T00:00:00Z"));
  let model: LoadedModel | undefined;
  after(async () => model?.session.release());

  it("writes a valid card with the k choice, segments, sizes and silhouette", () => {
    const card = ModelCardSchema.parse(trained.card);
    assert.equal(card.task, "clustering");
    const k = card.metrics.validation["k"]!;
    assert.ok(k >= 3 && k <= 6);
    assert.equal(card.segments?.list.length, k);
    assert.equal(card.outputs.labels?.length, k);
    const sizes = card.segments!.list.map((s) => s.size);
    assert.equal(sizes.reduce((a, b) => a + b, 0), card.training.rows);
    assert.deepEqual(sizes, card.segments!.list.map((_, j) => card.metrics.validation[`size_${j}`]));
    assert.ok(card.metrics.validation["silhouette"]! > 0.3, `silhouette ${card.metrics.validation["silhouette"]}`);
    assert.deepEqual(Object.keys(card.training.hyperparameters["by_k"] as object), ["2", "3", "4", "5", "6"]);
    assert.ok(card.segments!.list.some((s) => s.name === "Champions"));
    assert.ok(card.segments!.list.some((s) => s.name.startsWith("Hibernating")));
    // ids ordered by value, highest first
    const values = card.segments!.list.map((s) => s.scores["value"]!);
    assert.deepEqual(values, [...values].sort((a, b) => b - a));
  });

  it("onnxruntime reproduces segments and distances (parity rows)", async () => {
    model = await loadedModel(trained.card, trained.onnx);
    const rows = trained.parity.rows as SegmentParityRow[];
    const { outputs } = await predict(model, rows.map((r) => r.features));
    rows.forEach((row, i) => {
      const o = outputs[i]!;
      assert.equal(o.score, row.probability, `row ${i} segment`);
      assert.equal(o.label, row.probability);
      assert.equal(o.details["segment_id"], row.probability);
      const distances = o.details["distances"] as Record<string, number>;
      trained.card.segments!.list.forEach((s) => assert.ok(Math.abs(distances[s.name]! - row.distances[s.id]!) < 1e-4, `row ${i} ${s.name}`));
    });
  });

  it("every training customer gets the card's segment through the serving path", async () => {
    model ??= await loadedModel(trained.card, trained.onnx);
    const customers = computeRfm(lines, REFERENCE);
    const { outputs } = await predict(model, customers.map((c) => ({ recency_days: c.recency_days, frequency: c.frequency, monetary: c.monetary })));
    const counts = trained.card.segments!.list.map((s) => outputs.filter((o) => o.score === s.id).length);
    assert.deepEqual(counts, trained.card.segments!.list.map((s) => s.size));
  });

  it("clips out-of-range inputs with a warning and names the segment", async () => {
    model ??= await loadedModel(trained.card, trained.onnx);
    const { outputs, warnings } = await predict(model, [{ recency_days: 400, frequency: 1, monetary: 5 }]);
    assert.match(warnings[0]![0]!, /recency_days: 400 is outside the training range/);
    assert.ok(String(outputs[0]!.details["segment"]).startsWith("Hibernating"));
    assert.equal(typeof outputs[0]!.details["description"], "string");
  });

  it("is deterministic", () => {
    const again = buildCustomerSegments(lines, REFERENCE, SOURCE, { ...SEGMENT_DEFAULTS, kRange: [2, 6], restarts: 4 }, () => {}, new Date("2020-01-01T00:00:00Z"));
    assert.deepEqual(Buffer.from(again.onnx), Buffer.from(trained.onnx));
    assert.deepEqual(again.card, trained.card);
  });
});

describe("shipped models/customer_segments/1.0.0", () => {
  const dir = fileURLToPath(new URL("../../models/customer_segments/1.0.0/", import.meta.url));

  it("parity.json is reproduced by onnxruntime through the scorer's path", async () => {
    const model = await shippedModel(dir);
    try {
      const parity = await readParity(dir);
      assert.equal(parity.model, "customer_segments");
      assert.ok(parity.tolerance <= 1e-5);
      assert.ok(parity.rows.length >= 50);
      const rows = parity.rows as SegmentParityRow[];
      const { outputs } = await predict(model, rows.map((r) => r.features));
      const { list } = model.card.segments!;
      rows.forEach((row, i) => {
        assert.equal(outputs[i]!.score, row.probability, `row ${i}`);
        const distances = outputs[i]!.details["distances"] as Record<string, number>;
        // details round distances to 4 decimals; the raw outputs are checked within the tolerance below
        list.forEach((s) => assert.ok(Math.abs(distances[s.name]! - row.distances[s.id]!) <= 5e-5 + parity.tolerance, `row ${i} ${s.name}`));
      });
      const batch = encodeBatch(model.encoder, rows.map((r) => r.features));
      const raw = await runBatchOutputs(model.session, model.card, batch.flat, batch.n);
      rows.forEach((row, i) => row.distances.forEach((d, j) => assert.ok(Math.abs(raw.row(i)["distances"]![j]! - d) <= parity.tolerance, `row ${i} distance ${j}`)));
    } finally {
      await model.session.release();
    }
  });

  it("has the card the API relies on", async () => {
    const card = await readCard(dir);
    assert.equal(card.task, "clustering");
    assert.deepEqual(card.features.map((f) => f.name), ["recency_days", "frequency", "monetary"]);
    assert.ok(card.features.every((f) => f.required));
    const k = card.metrics.validation["k"]!;
    assert.equal(card.segments?.list.length, k);
    assert.equal(new Set(card.segments!.list.map((s) => s.name)).size, k, "unique names");
    for (const key of ["silhouette", "inertia", "rows"]) assert.equal(typeof card.metrics.validation[key], "number", key);
    assert.equal(card.training.dataset, "online-retail");
  });
});
