import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { ModelCardSchema } from "../../src/models/card.ts";
import { encodeBatch } from "../../src/models/encode.ts";
import { runBatchOutputs, scoreWithOutputs } from "../../src/models/onnx-runtime.ts";
import type { LoadedModel } from "../../src/models/registry.ts";
import { readCard, readParity } from "../../src/training/artifacts.ts";
import type { AdvertisingRow } from "../../src/training/datasets/advertising.ts";
import { parseAdvertising } from "../../src/training/datasets/advertising.ts";
import { choleskySolve } from "../../src/training/linalg.ts";
import { exportLogisticRegression } from "../../src/training/onnx-export.ts";
import {
  conformalMultiplier,
  crossValidate,
  fitOls,
  predictInterval,
  predictOls,
  regressionMetrics,
  studentTCdf,
  studentTQuantile,
  type Term,
} from "../../src/training/regression.ts";
import { mulberry32 } from "../../src/training/split.ts";
import { buildSalesForecast, SALES_DEFAULTS, type IntervalParityRow } from "../../src/training/trainers/sales-forecast.ts";
import { loadedModel, predict, shippedModel } from "../helpers/loaded-model.ts";

/** Advertising-like markets: sales saturate in TV, TV and radio reinforce each other, newspaper does nothing. */
function markets(n: number, seed: number): AdvertisingRow[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const tv = 1 + 295 * random();
    const radio = 50 * random();
    const newspaper = 100 * random() * random();
    const noise = (random() + random() + random() - 1.5) * 0.8;
    return { tv, radio, newspaper, sales: 2 + 1.2 * Math.log1p(tv) + 0.02 * radio + 0.001 * tv * radio + noise };
  });
}

const SOURCE = { dataset: "fixture", source: "generated in test", files: [], notes: "" };

describe("OLS with prediction intervals", () => {
  it("Student t quantiles match tables", () => {
    assert.ok(Math.abs(studentTQuantile(0.975, 10) - 2.228139) < 1e-6);
    assert.ok(Math.abs(studentTQuantile(0.975, 1) - 12.7062) < 1e-4);
    assert.ok(Math.abs(studentTQuantile(0.995, 3) - 5.840909) < 1e-6);
    assert.ok(Math.abs(studentTQuantile(0.025, 30) + 2.042272) < 1e-6);
    assert.ok(Math.abs(studentTQuantile(0.975, 1e6) - 1.959966) < 1e-5);
    assert.ok(Math.abs(studentTCdf(0, 5) - 0.5) < 1e-15);
  });

  it("recovers coefficients of noiseless data and gives the textbook interval", () => {
    const random = mulberry32(2);
    const rows = Array.from({ length: 40 }, () => ({ a: 10 * random(), b: 100 * random() }));
    const terms: Term[] = [{ kind: "input", feature: "a" }, { kind: "input", feature: "b" }, { kind: "product", a: "a", b: "b" }];
    const exact = rows.map((r) => 3 - 2 * r.a + 0.5 * r.b + 0.1 * r.a * r.b);
    const fit = fitOls(terms, rows, exact);
    const probe = { a: 4.2, b: 17 };
    assert.ok(Math.abs(predictOls(fit, probe) - (3 - 8.4 + 8.5 + 0.1 * 4.2 * 17)) < 1e-9);

    // with noise: compare with (XᵀX)⁻¹ on the raw design [1, a, b, ab]
    const noisy = exact.map((y) => y + random() - 0.5);
    const f = fitOls(terms, rows, noisy);
    const design = rows.map((r) => [1, r.a, r.b, r.a * r.b]);
    const gram = new Float64Array(16);
    design.forEach((x) => x.forEach((u, i) => x.forEach((v, j) => (gram[i * 4 + j]! += u * v))));
    const x0 = [1, probe.a, probe.b, probe.a * probe.b];
    const solved = choleskySolve(gram, Float64Array.from(x0), 4);
    const leverage = x0.reduce((a, v, i) => a + v * solved[i]!, 0);
    const t = studentTQuantile(0.975, 40 - 4);
    const interval = predictInterval(f, probe, t);
    assert.equal(f.df, 36);
    assert.ok(Math.abs(interval.upper - interval.value - t * f.residualSd * Math.sqrt(1 + leverage)) < 1e-9);
  });

  it("cross-validation coverage and the conformal multiplier", () => {
    const rows = markets(120, 4);
    const x = rows.map((r) => ({ tv: r.tv, radio: r.radio, newspaper: r.newspaper }));
    const terms: Term[] = [{ kind: "input", feature: "tv" }, { kind: "log1p", feature: "tv" }, { kind: "product", a: "tv", b: "radio" }];
    const cv = crossValidate(terms, x, rows.map((r) => r.sales), 5, 1, 0.95);
    assert.equal(cv.residuals.length, 120);
    assert.ok(cv.coverage > 0.85 && cv.coverage <= 1);
    const c = conformalMultiplier(cv.studentised, 0.95);
    assert.ok(cv.studentised.filter((s) => s <= c).length >= 0.95 * 120);
    assert.deepEqual(conformalMultiplier([3, 1, 2, 4], 0.5), 3);
  });

  it("regression metrics", () => {
    const m = regressionMetrics([1, 2, 3], [1, 2, 4]);
    assert.ok(Math.abs(m.rmse - Math.sqrt(1 / 3)) < 1e-12);
    assert.ok(Math.abs(m.mae - 1 / 3) < 1e-12);
    assert.ok(Math.abs(m.r2 - 0.5) < 1e-12);
  });

  it("parses the Advertising CSV and rejects bad cells", () => {
    assert.deepEqual(parseAdvertising("TV,radio,newspaper,sales\r\n44.5,39.3,45.1,10.4\r\n", "a.csv"), [{ tv: 44.5, radio: 39.3, newspaper: 45.1, sales: 10.4 }]);
    assert.throws(() => parseAdvertising("TV,radio,newspaper,sales\n1,x,3,4\n", "a.csv"), /a\.csv:2: radio "x"/);
  });
});

describe("sales_forecast trainer on a generated fixture", () => {
  const rows = markets(160, 9);
  const trained = buildSalesForecast(rows, SOURCE, SALES_DEFAULTS, () => {}, new Date("2020-01-01T00:00:00Z"));
  let model: LoadedModel | undefined;
  const load = async () => (model ??= await loadedModel(trained.card, trained.onnx));
  after(async () => model?.session.release());

  it("chooses the saturating, interacting term set by CV and beats plain linear regression", () => {
    const card = ModelCardSchema.parse(trained.card);
    assert.equal(card.task, "regression");
    assert.deepEqual(card.training.hyperparameters["terms"], ["tv", "radio", "newspaper", "tv*radio", "log1p(tv)"]);
    assert.ok(card.metrics.validation["rmse"]! < card.metrics.baseline!["rmse"]!);
    assert.ok(card.metrics.validation["r2"]! > 0.9);
    assert.equal(card.training.split.validation_rows, 32);
    assert.equal(card.interval?.level, 0.95);
    assert.ok(card.interval!.stats["multiplier"]! > 1.5);
  });

  it("onnxruntime reproduces value and interval (parity rows) and the presenter shows them", async () => {
    const m = await load();
    const parity = trained.parity.rows as IntervalParityRow[];
    const batch = encodeBatch(m.encoder, parity.map((r) => r.features));
    const raw = await runBatchOutputs(m.session, m.card, batch.flat, batch.n);
    parity.forEach((row, i) => {
      const o = raw.row(i);
      assert.ok(Math.abs(o["sales"]![0]! - row.probability) <= 1e-5, `row ${i} value`);
      assert.ok(Math.abs(o["sales_lower"]![0]! - row.lower) <= 1e-5, `row ${i} lower`);
      assert.ok(Math.abs(o["sales_upper"]![0]! - row.upper) <= 1e-5, `row ${i} upper`);
    });
    const { outputs } = await predict(m, [parity[0]!.features]);
    const details = outputs[0]!.details as { forecasted_sales: number; confidence_interval: { lower: number; upper: number; level: number } };
    assert.ok(Math.abs(details.forecasted_sales - parity[0]!.probability) < 1e-4);
    assert.ok(details.confidence_interval.lower < details.forecasted_sales && details.forecasted_sales < details.confidence_interval.upper);
    assert.equal(details.confidence_interval.level, 0.95);
    assert.equal(outputs[0]!.label, null);
    assert.equal(outputs[0]!.confidence, null);
  });

  it("the interval widens away from the data; budgets outside the training range are clipped", async () => {
    const m = await load();
    const { outputs, warnings } = await predict(m, [
      { tv: 150, radio: 25, newspaper: 20 },
      { tv: 295, radio: 49, newspaper: 90 },
      { tv: 5000, radio: 25, newspaper: 20 },
    ]);
    const width = (k: number) => {
      const ci = outputs[k]!.details["confidence_interval"] as { lower: number; upper: number };
      return ci.upper - ci.lower;
    };
    assert.ok(width(1) > width(0));
    assert.match(warnings[2]![0]!, /tv: 5000 is outside the training range/);
  });

  it("is deterministic", () => {
    const again = buildSalesForecast(rows, SOURCE, SALES_DEFAULTS, () => {}, new Date("2020-01-01T00:00:00Z"));
    assert.deepEqual(Buffer.from(again.onnx), Buffer.from(trained.onnx));
    assert.deepEqual(again.card, trained.card);
  });
});

describe("scoreWithOutputs", () => {
  it("scores a single-output model through model.score, with no row outputs", async () => {
    const card = ModelCardSchema.parse({
      name: "t",
      version: "1",
      display_name: "t",
      description: "",
      task: "binary_classification",
      algorithm: "logistic_regression",
      created_at: "2020-01-01T00:00:00Z",
      features: [{ name: "a", type: "number", required: true }],
      encoding: { input_name: "x", columns: [{ kind: "numeric", feature: "a" }] },
      outputs: { score_output: "probabilities", probability_index: 1 },
      training: { dataset: "", source: "", files: [], rows: 0, split: { method: "", train_rows: 0, validation_rows: 0, seed: 0 } },
      metrics: { validation: {} },
    });
    const model = await loadedModel(card, exportLogisticRegression({ inputName: "x", outputName: "probabilities", weights: [1], intercept: 0, graphName: "t" }));
    try {
      let calls = 0;
      const counting = { ...model, score: (flat: Float32Array, n: number) => (calls++, model.score(flat, n)) };
      const { scores, row } = await scoreWithOutputs(counting, new Float32Array([0]), 1);
      assert.equal(calls, 1);
      assert.ok(Math.abs(scores[0]! - 0.5) < 1e-7);
      assert.equal(row(0), undefined);
    } finally {
      await model.session.release();
    }
  });
});

describe("shipped models/sales_forecast/1.0.0", () => {
  const dir = fileURLToPath(new URL("../../models/sales_forecast/1.0.0/", import.meta.url));

  it("parity.json is reproduced by onnxruntime", async () => {
    const model = await shippedModel(dir);
    try {
      const parity = await readParity(dir);
      assert.equal(parity.model, "sales_forecast");
      assert.ok(parity.tolerance <= 1e-5);
      const rows = parity.rows as IntervalParityRow[];
      assert.ok(rows.length >= 32);
      const batch = encodeBatch(model.encoder, rows.map((r) => r.features));
      assert.equal(batch.n, rows.length);
      const raw = await runBatchOutputs(model.session, model.card, batch.flat, batch.n);
      rows.forEach((row, i) => {
        const o = raw.row(i);
        assert.ok(Math.abs(o["sales"]![0]! - row.probability) <= parity.tolerance, `row ${i} value`);
        assert.ok(Math.abs(o["sales_lower"]![0]! - row.lower) <= parity.tolerance, `row ${i} lower`);
        assert.ok(Math.abs(o["sales_upper"]![0]! - row.upper) <= parity.tolerance, `row ${i} upper`);
      });
    } finally {
      await model.session.release();
    }
  });

  it("has the card the API relies on", async () => {
    const card = await readCard(dir);
    assert.deepEqual(card.features.map((f) => f.name), ["tv", "radio", "newspaper"]);
    for (const key of ["rmse", "mae", "r2"]) assert.equal(typeof card.metrics.validation[key], "number", key);
    assert.ok(card.metrics.validation["rmse"]! < card.metrics.baseline!["rmse"]!);
    assert.equal(card.interval?.target, "sales");
    assert.equal(card.training.dataset, "advertising");
  });
});
