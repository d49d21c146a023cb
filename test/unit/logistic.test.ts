import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { choleskySolve } from "../../src/training/linalg.ts";
import { fitLogistic, foldStandardisation, predictLogits, predictProbabilities, sigmoid, type Matrix } from "../../src/training/logistic.ts";
import { bestF1Threshold, binaryMetrics, brierScore, confusion, logLoss, precisionRecallF1, rocAuc } from "../../src/training/metrics.ts";
import { mulberry32, stratifiedSplit } from "../../src/training/split.ts";

/** Standard normal draws from a seeded uniform source (Box–Muller). */
function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** n rows of x ~ N(offset, scale²) per column, y ~ Bernoulli(sigmoid(b + w·x)). */
function logisticData(n: number, w: number[], b: number, seed: number, scale: number[], offset: number[]) {
  const random = mulberry32(seed);
  const normal = gaussian(random);
  const d = w.length;
  const data = new Float64Array(n * d);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let z = b;
    for (let j = 0; j < d; j++) {
      const x = offset[j]! + scale[j]! * normal();
      data[i * d + j] = x;
      z += w[j]! * x;
    }
    y[i] = random() < sigmoid(z) ? 1 : 0;
  }
  return { x: { data, rows: n, cols: d } satisfies Matrix, y };
}

describe("fitLogistic", () => {
  it("recovers the weights of a known logistic relation on raw (unstandardised) columns", () => {
    // columns on very different scales, so the folding of the standardisation matters
    const truth = { w: [1.5, -0.02, 0.8], b: -0.5 };
    const { x, y } = logisticData(20_000, truth.w, truth.b, 7, [1, 50, 2], [0, 100, -1]);
    const model = fitLogistic(x, y, { l2: 1e-8 });
    assert.ok(model.converged, "Newton converged");
    assert.ok(model.iterations < 20, `took ${model.iterations} iterations`);
    const w = [...model.raw.weights];
    assert.ok(Math.abs(w[0]! - 1.5) < 0.08, `w0 ${w[0]}`);
    assert.ok(Math.abs(w[1]! + 0.02) < 0.002, `w1 ${w[1]}`);
    assert.ok(Math.abs(w[2]! - 0.8) < 0.05, `w2 ${w[2]}`);
    assert.ok(Math.abs(model.raw.intercept - truth.b) < 0.3, `b ${model.raw.intercept}`);
    const auc = rocAuc(y, predictProbabilities(model.raw, x));
    assert.ok(auc > 0.8, `AUC ${auc}`);
  });

  it("reaches a zero gradient: the optimality conditions of the objective hold", () => {
    const { x, y } = logisticData(2_000, [1, -1], 0.3, 11, [1, 1], [0, 0]);
    const l2 = 0.01;
    const model = fitLogistic(x, y, { l2 });
    // gradient w.r.t. standardised weights: (1/n) Σ (p − y) z_ij + l2 w_j = 0; intercept: Σ (p − y) = 0
    const p = predictProbabilities(model.raw, x);
    let interceptGradient = 0;
    const gradient = [0, 0];
    for (let i = 0; i < x.rows; i++) {
      const r = p[i]! - y[i]!;
      interceptGradient += r;
      for (let j = 0; j < 2; j++) gradient[j]! += (r * (x.data[i * 2 + j]! - model.means[j]!)) / model.scales[j]!;
    }
    assert.ok(Math.abs(interceptGradient / x.rows) < 1e-12, `intercept gradient ${interceptGradient / x.rows}`);
    for (let j = 0; j < 2; j++) {
      const g = gradient[j]! / x.rows + l2 * model.standardised.weights[j]!;
      assert.ok(Math.abs(g) < 1e-12, `gradient ${j}: ${g}`);
    }
  });

  it("stays finite and separates perfectly separable data under L2", () => {
    const data = new Float64Array([-3, -2, -1, -0.5, 0.5, 1, 2, 3]);
    const y = new Uint8Array([0, 0, 0, 0, 1, 1, 1, 1]);
    const model = fitLogistic({ data, rows: 8, cols: 1 }, y, { l2: 0.01 });
    assert.ok(model.converged);
    assert.ok(Number.isFinite(model.raw.weights[0]!) && model.raw.weights[0]! > 0);
    const p = predictProbabilities(model.raw, { data, rows: 8, cols: 1 });
    assert.equal(binaryMetrics(y, p, 0.5).accuracy, 1);
    // stronger L2 → smaller weight
    const stronger = fitLogistic({ data, rows: 8, cols: 1 }, y, { l2: 1 });
    assert.ok(stronger.raw.weights[0]! < model.raw.weights[0]!);
  });

  it("is deterministic", () => {
    const { x, y } = logisticData(1_000, [0.5, 2, -1], 0, 3, [1, 1, 1], [0, 0, 0]);
    const a = fitLogistic(x, y, { l2: 0.001 });
    const b = fitLogistic(x, y, { l2: 0.001 });
    assert.deepEqual([...a.raw.weights], [...b.raw.weights]);
    assert.equal(a.raw.intercept, b.raw.intercept);
  });

  it("handles a constant column and rejects bad labels", () => {
    const data = new Float64Array([1, 5, 2, 5, 3, 5, 4, 5]);
    const model = fitLogistic({ data, rows: 4, cols: 2 }, new Uint8Array([0, 1, 0, 1]), { l2: 0.1 });
    assert.equal(model.raw.weights[1], 0);
    assert.throws(() => fitLogistic({ data, rows: 4, cols: 2 }, [0, 1, 2, 1], { l2: 0.1 }), RangeError);
  });
});

describe("foldStandardisation", () => {
  it("gives raw weights that score exactly like the standardised ones", () => {
    const means = new Float64Array([10, -2]);
    const scales = new Float64Array([4, 0.5]);
    const standardised = { weights: new Float64Array([0.7, -1.2]), intercept: 0.3 };
    const raw = foldStandardisation(standardised, means, scales);
    const x = { data: new Float64Array([12, -1, 3, -2.5]), rows: 2, cols: 2 };
    const logits = predictLogits(raw, x);
    for (let i = 0; i < 2; i++) {
      const expected = 0.3 + (0.7 * (x.data[i * 2]! - 10)) / 4 - (1.2 * (x.data[i * 2 + 1]! + 2)) / 0.5;
      assert.ok(Math.abs(logits[i]! - expected) < 1e-12);
    }
  });
});

describe("choleskySolve", () => {
  it("solves a symmetric positive-definite system", () => {
    // A = [[4,2,0],[2,5,1],[0,1,3]], x = [1,-1,2] → b = A x = [2,-1,5]
    const a = new Float64Array([4, 2, 0, 2, 5, 1, 0, 1, 3]);
    const x = choleskySolve(a, new Float64Array([2, -1, 5]), 3);
    [1, -1, 2].forEach((v, i) => assert.ok(Math.abs(x[i]! - v) < 1e-12));
    assert.throws(() => choleskySolve(new Float64Array([1, 2, 2, 1]), new Float64Array([1, 1]), 2), /pivot/);
  });
});

describe("metrics", () => {
  const labels = [1, 0, 1, 0, 1];
  const scores = [0.9, 0.8, 0.7, 0.3, 0.3];

  it("computes AUC by pairs, a tie counting one half", () => {
    // positive/negative pairs: (.9,.8)=1 (.9,.3)=1 (.7,.8)=0 (.7,.3)=1 (.3,.8)=0 (.3,.3)=½ → 3.5/6
    assert.ok(Math.abs(rocAuc(labels, scores) - 3.5 / 6) < 1e-15);
    assert.equal(rocAuc([0, 1], [0.2, 0.9]), 1);
    assert.equal(rocAuc([0, 1], [0.9, 0.2]), 0);
    assert.equal(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]), 0.5);
    assert.ok(Number.isNaN(rocAuc([1, 1], [0.2, 0.3])));
  });

  it("computes log loss and Brier score", () => {
    assert.ok(Math.abs(logLoss([1, 0], [0.8, 0.4]) - -(Math.log(0.8) + Math.log(0.6)) / 2) < 1e-15);
    assert.ok(Number.isFinite(logLoss([1], [0])), "clipped, not infinite");
    assert.ok(Math.abs(brierScore([1, 0], [0.8, 0.4]) - (0.04 + 0.16) / 2) < 1e-15);
  });

  it("computes the confusion counts, precision, recall, F1 and accuracy", () => {
    // ≥ 0.5: .9 (pos) .8 (neg) .7 (pos) → tp 2, fp 1; below: .3 (neg), .3 (pos) → tn 1, fn 1
    assert.deepEqual(confusion(labels, scores, 0.5), { tp: 2, fp: 1, tn: 1, fn: 1 });
    const { precision, recall, f1 } = precisionRecallF1({ tp: 2, fp: 1, tn: 1, fn: 1 });
    assert.ok(Math.abs(precision - 2 / 3) < 1e-15 && Math.abs(recall - 2 / 3) < 1e-15 && Math.abs(f1 - 2 / 3) < 1e-15);
    assert.deepEqual(precisionRecallF1({ tp: 0, fp: 0, tn: 3, fn: 0 }), { precision: 0, recall: 0, f1: 0 });
    const m = binaryMetrics(labels, scores, 0.5);
    assert.equal(m.accuracy, 3 / 5);
    assert.equal(m.positive_rate, 3 / 5);
    assert.equal(m.rows, 5);
    assert.equal(m.threshold, 0.5);
    // the threshold is inclusive
    assert.deepEqual(confusion([1], [0.5], 0.5), { tp: 1, fp: 0, tn: 0, fn: 0 });
  });

  it("chooses the F1-maximising threshold halfway between scores", () => {
    // P = 3. cuts: ≥.9 F1 .5; ≥.8 .8; ≥.7 4/6; ≥.6 6/7 (best); ≥.2 .75; ≥.1 6/9
    const best = bestF1Threshold([1, 1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.2, 0.1]);
    assert.ok(Math.abs(best.threshold - 0.4) < 1e-15);
    assert.ok(Math.abs(best.f1 - 6 / 7) < 1e-15);
    assert.equal(binaryMetrics([1, 1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.2, 0.1], best.threshold).f1, best.f1);
  });
});

describe("stratifiedSplit", () => {
  const labels = Array.from({ length: 1000 }, (_, i) => (i % 4 === 0 ? 1 : 0)); // 250 positives

  it("keeps the label balance and covers every row exactly once", () => {
    const { train, validation } = stratifiedSplit(labels, 0.2, 42);
    assert.equal(validation.length, 200);
    assert.equal(validation.filter((i) => labels[i] === 1).length, 50);
    assert.equal(train.length + validation.length, 1000);
    assert.equal(new Set([...train, ...validation]).size, 1000);
  });

  it("is a function of the seed", () => {
    assert.deepEqual(stratifiedSplit(labels, 0.2, 42), stratifiedSplit(labels, 0.2, 42));
    assert.notDeepEqual(stratifiedSplit(labels, 0.2, 42).validation, stratifiedSplit(labels, 0.2, 43).validation);
    // mulberry32 is pinned: a change of generator would silently change every card's split
    const random = mulberry32(1);
    assert.deepEqual([random(), random()].map((v) => v.toFixed(10)), ["0.6270739406", "0.0027357212"]);
  });
});
