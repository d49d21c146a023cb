import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ModelCardSchema, type ModelCard } from "../../src/models/card.ts";
import { createEncoder, encodeBatch } from "../../src/models/encode.ts";
import { createExplainer } from "../../src/models/explain.ts";
import { loadOnnxSession, runBatch } from "../../src/models/onnx-runtime.ts";
import { MODEL_FILE, readCard, readParity } from "../../src/training/artifacts.ts";
import type { RetailLine } from "../../src/training/datasets/retail.ts";
import {
  buildDemandSeries,
  DAY_MS,
  DEMAND_FEATURES,
  demandFeatures,
  demandRows,
  MIN_HISTORY,
  timeSplit,
} from "../../src/training/datasets/retail-demand.ts";
import { mulberry32 } from "../../src/training/split.ts";
import type { ParityFile } from "../../src/training/trainer.ts";
import { buildDemandForecast, DEMAND_DEFAULTS, withinDemandParity } from "../../src/training/trainers/demand-forecast.ts";

const START = Date.UTC(2021, 0, 4); // a Monday
const HOLIDAY = Date.UTC(2021, 2, 1); // a Monday the shop is closed

/**
 * A small shop: trades every day but Saturday and one holiday, for `days` calendar days; product
 * P<k> sells with a weekly pattern on most days, plus an unrelated cancellation and a postage line.
 */
function fixture(days: number, products: number, seed: number): RetailLine[] {
  const random = mulberry32(seed);
  const lines: RetailLine[] = [];
  let line = 2;
  const add = (invoice: string, stockCode: string, quantity: number, time: number, unitPrice = 1.5) =>
    lines.push({ invoice, stockCode, description: stockCode, quantity, time, unitPrice, customerId: "12345", country: "United Kingdom", line: line++ });
  for (let d = 0; d < days; d++) {
    const day = START + d * DAY_MS;
    if (new Date(day).getUTCDay() === 6 || day === HOLIDAY) continue;
    const weekday = (new Date(day).getUTCDay() + 6) % 7;
    add(`5${d}00`, "POST", 1, day + 9 * 3_600_000, 18);
    for (let p = 0; p < products; p++) {
      if (random() < 0.25) continue;
      const level = 5 + 3 * p + (weekday === 1 ? 10 : 0) + 0.05 * d;
      add(`5${d}${p}1`, `P${p}`, Math.max(1, Math.round(level * (0.5 + random()))), day + (10 + p) * 3_600_000);
      if (random() < 0.1) add(`5${d}${p}2`, `P${p}`, Math.round(5 * random()) + 1, day + 15 * 3_600_000);
    }
    if (d % 10 === 3) add(`C5${d}`, "P0", -40, day + 17 * 3_600_000);
  }
  return lines;
}

describe("demand_forecast: daily series and features", () => {
  const lines = fixture(140, 5, 7);
  const series = buildDemandSeries(lines, { products: 4, selectBefore: START + 100 * DAY_MS });

  it("trading days come from the data: no Saturdays, no holiday; days without a sale are 0", () => {
    assert.ok(series.days.every((d) => new Date(d).getUTCDay() !== 6));
    assert.ok(!series.days.includes(HOLIDAY));
    assert.equal(series.days.length, new Set(lines.map((l) => Math.floor(l.time / DAY_MS) * DAY_MS)).size);
    assert.equal(series.products.length, 4);
    assert.ok(!series.products.includes("POST"));
    for (const q of series.quantity) {
      assert.equal(q.length, series.days.length);
      assert.ok(q.some((v) => v === 0), "some trading days without a sale");
    }
    // quantity per day = Σ of that day's sale lines (cancellations not netted out)
    const p = series.products.indexOf("P0");
    const t = 40;
    const expected = lines
      .filter((l) => l.stockCode === "P0" && l.quantity > 0 && Math.floor(l.time / DAY_MS) * DAY_MS === series.days[t])
      .reduce((s, l) => s + l.quantity, 0);
    assert.equal(series.quantity[p]![t], expected);
  });

  it("features of day d use only trading days before d (changing d and later days changes nothing)", () => {
    for (let p = 0; p < series.products.length; p++) {
      const q = series.quantity[p]!;
      for (let t = 0; t < series.days.length; t++) {
        const before = demandFeatures(series.days, q, t);
        const corrupted = Float64Array.from(q, (v, j) => (j >= t ? v + 1000 + j : v));
        assert.deepEqual(demandFeatures(series.days, corrupted, t), before, `product ${p} day ${t}`);
      }
    }
  });

  it("lags, rolling means and the calendar are as documented", () => {
    const q = Float64Array.from(series.days, (_, j) => j + 1); // distinct value per trading day
    const idx = (time: number) => series.days.indexOf(time);
    assert.equal(demandFeatures(series.days, q, MIN_HISTORY - 1), undefined, "too little history");
    // the Tuesday after the holiday Monday: lag_1 = the Sunday before, lag_7 = the Tuesday a week earlier
    const tuesday = HOLIDAY + DAY_MS;
    const f = demandFeatures(series.days, q, idx(tuesday))!;
    assert.equal(f.lag_1, q[idx(HOLIDAY - DAY_MS)]);
    assert.equal(f.lag_7, q[idx(tuesday - 7 * DAY_MS)]);
    assert.equal(f.lag_14, q[idx(tuesday - 14 * DAY_MS)]);
    assert.equal(f.day_of_week, 1);
    assert.equal(f.day_of_month, 2);
    const t = idx(tuesday);
    assert.equal(f.rolling_mean_7, (q[t - 7]! + q[t - 6]! + q[t - 5]! + q[t - 4]! + q[t - 3]! + q[t - 2]! + q[t - 1]!) / 7);
    let sum28 = 0;
    for (let j = t - 28; j < t; j++) sum28 += q[j]!;
    assert.equal(f.rolling_mean_28, sum28 / 28);
    // a week after the holiday: d − 7 was closed, so lag_7 falls back to the trading day before it (Sunday)
    const g = demandFeatures(series.days, q, idx(HOLIDAY + 7 * DAY_MS))!;
    assert.equal(g.lag_7, q[idx(HOLIDAY - DAY_MS)]);
    assert.equal(g.day_of_week, 0);
  });

  it("splits by time: fit days < early-stopping days < validation days (the last N calendar days)", () => {
    const rows = demandRows(series);
    const lastDay = series.days.at(-1)!;
    const split = timeSplit(rows, lastDay, 21, 14);
    assert.equal(split.fit.length + split.stop.length + split.validation.length, rows.length);
    const max = (rs: typeof rows) => Math.max(...rs.map((r) => r.day));
    const min = (rs: typeof rows) => Math.min(...rs.map((r) => r.day));
    assert.ok(max(split.fit) < split.stopStart && split.stopStart <= min(split.stop));
    assert.ok(max(split.stop) < split.validationStart && split.validationStart <= min(split.validation));
    assert.equal(split.validationStart, lastDay - 20 * DAY_MS);
    assert.equal(max(split.validation), lastDay);
  });
});

/** onnxruntime on the parity rows through the serving encoder; the TreeSHAP sums; returns the scores. */
async function checkParity(card: ModelCard, onnx: string | Uint8Array, parity: ParityFile): Promise<void> {
  assert.ok(parity.tolerance <= 1e-5);
  const batch = encodeBatch(createEncoder(card), parity.rows.map((r) => r.features));
  assert.equal(batch.n, parity.rows.length, "every parity row encodes");
  const session = await loadOnnxSession(onnx, card);
  try {
    const scores = await runBatch(session, card, batch.flat, batch.n);
    parity.rows.forEach((row, i) => {
      assert.ok(withinDemandParity(scores[i]!, row.probability, parity.tolerance), `row ${i}: onnx ${scores[i]} trainer ${row.probability}`);
    });
  } finally {
    await session.release();
  }
  const explain = createExplainer(card)!;
  const width = card.encoding.columns.length;
  parity.rows.forEach((row, i) => {
    const total = explain(batch.flat, i * width).reduce((s, c) => s + c.contribution, card.explainer!.base_value);
    assert.ok(Math.abs(total - row.probability) < 1e-6 * Math.max(1, Math.abs(row.probability)), `row ${i}: SHAP ${total} vs ${row.probability}`);
  });
}

describe("demand_forecast: trainer on the fixture", () => {
  it("trains, exports and reproduces itself in onnxruntime", async () => {
    const lines = fixture(140, 6, 11);
    const source = { dataset: "fixture", source: "generated in test", files: [], synthetic: true, notes: "" };
    const options = { ...DEMAND_DEFAULTS, products: 5, validationDays: 21, stopDays: 14, params: { ...DEMAND_DEFAULTS.params, minSamplesLeaf: 5 }, parityRows: 30 };
    const trained = await buildDemandForecast(lines, source, options, () => {}, new Date("2020-01-01T00:00:00Z"));
    const card = ModelCardSchema.parse(trained.card);
    assert.equal(card.task, "regression");
    assert.deepEqual(card.features.map((f) => f.name), [...DEMAND_FEATURES]);
    for (const key of ["rmse", "mae", "seasonal_naive_rmse", "lag_1_rmse", "rows"]) assert.equal(typeof card.metrics.validation[key], "number", key);
    for (const key of ["rmse", "mae", "lag_1_rmse", "lag_1_mae"]) assert.equal(typeof card.metrics.baseline?.[key], "number", key);
    assert.ok((card.training.hyperparameters["n_trees"] as number) >= 1);
    assert.equal(trained.parity.rows.length, 30);
    await checkParity(card, trained.onnx, trained.parity);
  });
});

describe("demand_forecast 1.0.0: the shipped artifact", () => {
  const dir = fileURLToPath(new URL("../../models/demand_forecast/1.0.0/", import.meta.url));

  it("parity.json is reproduced by onnxruntime (|Δ| ≤ 1e-5 × max(1, |ŷ|)) and TreeSHAP adds up", async () => {
    const card = await readCard(dir);
    const parity = await readParity(dir);
    assert.equal(`${parity.model}/${parity.version}`, "demand_forecast/1.0.0");
    assert.ok(parity.rows.length >= 50);
    await checkParity(card, join(dir, MODEL_FILE), parity);
  });

  it("has an honest regression card", async () => {
    const card = await readCard(dir);
    assert.equal(card.task, "regression");
    assert.deepEqual(card.outputs, { score_output: "quantity" });
    assert.deepEqual(card.features.map((f) => f.name), [...DEMAND_FEATURES]);
    for (const f of card.features) assert.ok(f.description.length > 20, f.name);
    assert.equal(card.training.source, "../shared/datasets/online-retail/SOURCE.md");
    assert.equal(card.training.synthetic, false);
    assert.equal(card.explainer?.kind, "tree");
    assert.equal(card.explainer?.link, "identity");
    const v = card.metrics.validation;
    assert.equal(v["seasonal_naive_rmse"], card.metrics.baseline?.["rmse"]);
    assert.ok(v["rmse"]! < v["seasonal_naive_rmse"]! && v["rmse"]! < v["lag_1_rmse"]!);
  });
});
