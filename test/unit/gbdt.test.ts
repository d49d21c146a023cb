import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyBins, binOf, edgeBetween, fitBins, MAX_BINS, type ColumnBins } from "../../src/training/gbdt/binning.ts";
import { fitGbdt, loss, resolveParams, sigmoid, type GbdtData } from "../../src/training/gbdt/booster.ts";
import { assignFolds, averageEnsembles, fitCrossFitted } from "../../src/training/gbdt/cross-fit.ts";
import { leafIndex, predict, predictRaw, treeDepth, type Tree } from "../../src/training/gbdt/tree.ts";
import { rocAuc } from "../../src/training/metrics.ts";
import { mulberry32 } from "../../src/training/split.ts";

/**
 * Seeded classification data: x0 continuous (drives the label), x1 with NaNs (NaN raises the odds),
 * x2 a 0/1 column, x3 integer-valued, x4 noise.
 */
function classification(n: number, seed: number): GbdtData {
  const random = mulberry32(seed);
  const cols = 5;
  const x = new Float32Array(n * cols);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * cols;
    x[o] = Math.fround(random() * 10 - 5);
    x[o + 1] = random() < 0.15 ? NaN : Math.fround(random() * 2);
    x[o + 2] = random() < 0.3 ? 1 : 0;
    x[o + 3] = Math.floor(random() * 6);
    x[o + 4] = Math.fround(random());
    const z = 0.8 * x[o]! + (Number.isNaN(x[o + 1]!) ? 2 : -0.5 * x[o + 1]!) + (x[o + 2] ? 1 : -1) + (x[o + 3]! === 4 ? 1.5 : 0);
    y[i] = random() < sigmoid(z) ? 1 : 0;
  }
  return { x, rows: n, cols, y };
}

function sameTrees(a: Tree[], b: Tree[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((t, i) =>
    (["feature", "threshold", "left", "right", "value", "cover", "missingLeft"] as const).every((k) => {
      const u = t[k];
      const v = b[i]![k];
      return u.length === v.length && u.every((value, j) => Object.is(value, v[j]));
    }),
  );
}

describe("gbdt binning", () => {
  it("puts each of few distinct values in its own bin, with float32 edges between them", () => {
    const x = Float32Array.from([3, 1, 2, 2, 1, 3, 0.1]);
    const mapper = fitBins(x, 1, [0, 1, 2, 3, 4, 5, 6]);
    const { edges, missingBin, count } = mapper.columns[0]!;
    assert.equal(edges.length, 4); // 0.1, 1, 2, 3
    assert.equal(edges[3], Infinity);
    assert.equal(missingBin, 4);
    assert.equal(count, 5);
    for (let b = 0; b < 3; b++) assert.equal(Math.fround(edges[b]!), edges[b]);
    assert.deepEqual(Array.from(applyBins(mapper, x, 7, 1)), [3, 1, 2, 2, 1, 3, 0]);
    assert.equal(binOf(mapper.columns[0]!, NaN), 4);
    assert.equal(binOf(mapper.columns[0]!, 1e9), 3);
    assert.equal(binOf(mapper.columns[0]!, -1e9), 0);
  });

  it("cuts many distinct values into at most 254 quantile bins (+1 missing) consistent with x <= edge", () => {
    const random = mulberry32(1);
    const n = 20_000;
    const x = Float32Array.from({ length: n }, () => (random() < 0.01 ? NaN : Math.fround(random() ** 3 * 1000)));
    const mapper = fitBins(x, 1, Array.from({ length: n }, (_, i) => i));
    const column = mapper.columns[0]!;
    assert.ok(column.count <= MAX_BINS);
    assert.ok(column.count > 200);
    const bins = applyBins(mapper, x, n, 1);
    const sizes = new Int32Array(column.count);
    for (let i = 0; i < n; i++) {
      const b = bins[i]!;
      sizes[b]!++;
      if (Number.isNaN(x[i]!)) assert.equal(b, column.missingBin);
      else {
        assert.ok(x[i]! <= column.edges[b]!);
        if (b > 0) assert.ok(x[i]! > column.edges[b - 1]!);
      }
    }
    // quantile bins: no value bin holds much more than its share
    for (let b = 0; b < column.missingBin; b++) assert.ok(sizes[b]! < (3 * n) / (column.count - 1), `bin ${b}: ${sizes[b]}`);
  });

  it("with a uniform share, resolves a sparse tail that quantile bins lump together", () => {
    // 99.7 % of values in [4000, 10000], a sparse tail down to 1000: a threshold at 3500 sits in it
    const random = mulberry32(7);
    const n = 8_000;
    const x = Float32Array.from({ length: n }, (_, i) => Math.fround(i < 24 ? 1000 + random() * 3000 : 4000 + random() * 6000));
    const rows = Array.from({ length: n }, (_, i) => i);
    // how many data values share the threshold's bin: a split can separate nothing finer
    const sharing = (column: ColumnBins, v: number) => {
      const b = binOf(column, v);
      return x.filter((value) => binOf(column, value) === b).length;
    };
    const quantile = fitBins(x, 1, rows).columns[0]!;
    const mixed = fitBins(x, 1, rows, MAX_BINS, 0.75).columns[0]!;
    assert.ok(sharing(quantile, 3500) >= 20, `quantile: ${sharing(quantile, 3500)} values share 3500's bin`);
    assert.ok(sharing(mixed, 3500) <= 2, `mixed: ${sharing(mixed, 3500)} values share 3500's bin`);
    assert.ok(mixed.count <= MAX_BINS);
    // every edge still lies between two data values, so the bins stay consistent with x <= edge
    const bins = applyBins({ columns: [mixed], offsets: Int32Array.of(0), totalBins: mixed.count }, x, n, 1);
    for (let i = 0; i < n; i++) assert.ok(x[i]! <= mixed.edges[bins[i]!]! && (bins[i] === 0 || x[i]! > mixed.edges[bins[i]! - 1]!));
    assert.throws(() => fitBins(x, 1, rows, MAX_BINS, 1), RangeError);
  });

  it("edges separate adjacent float32 values", () => {
    const a = 1;
    const b = Math.fround(1 + 2 ** -23); // the next float32 after 1
    const e = edgeBetween(a, b);
    assert.ok(a <= e && e < b);
    assert.equal(edgeBetween(0.5, 1.5), 1);
    assert.throws(() => fitBins(new Float32Array(1), 1, [0], 300), RangeError);
  });
});

describe("gbdt boosting", () => {
  const train = classification(4000, 1);
  const validation = classification(1500, 2);

  it("learns the signal, including the learned direction of missing values", () => {
    const fit = fitGbdt(train, { maxTrees: 200, maxDepth: 3, maxLeaves: 8, learningRate: 0.1, seed: 3 }, validation);
    const p = predict(fit.model, validation.x, validation.rows);
    const auc = rocAuc(validation.y, p);
    assert.ok(auc > 0.85, `AUC ${auc}`);
    // NaN in x1 raises the odds; some split on x1 must send NaN to the side with the higher value
    const nanLeft = fit.model.trees.some((t) => Array.from(t.feature).some((f, i) => f === 1 && t.missingLeft[i] === 1));
    const nanRight = fit.model.trees.some((t) => Array.from(t.feature).some((f, i) => f === 1 && t.missingLeft[i] === 0));
    assert.ok(nanLeft || nanRight);
    const withNan = Float32Array.from([1, NaN, 0, 0, 0.5]);
    const withValue = Float32Array.from([1, 1, 0, 0, 0.5]);
    assert.ok(predict(fit.model, withNan, 1)[0]! > predict(fit.model, withValue, 1)[0]!);
  });

  it("stops early on the validation loss and keeps the best round's trees", () => {
    const fit = fitGbdt(train, { maxTrees: 2000, maxDepth: 6, maxLeaves: 63, minSamplesLeaf: 2, learningRate: 0.3, earlyStoppingRounds: 10, seed: 3 }, validation);
    assert.ok(fit.roundsRun < 2000, `ran ${fit.roundsRun} rounds`);
    assert.equal(fit.roundsRun - fit.bestRounds, 10);
    assert.equal(fit.model.trees.length, fit.bestRounds);
    const best = Math.min(...fit.validationLoss);
    assert.equal(fit.validationLoss[fit.bestRounds - 1], best);
    assert.equal(fit.bestValidationLoss, best);
    const raw = predictRaw(fit.model, validation.x, validation.rows);
    assert.ok(Math.abs(loss("binary_logloss", raw, validation.y) - best) < 1e-9);
  });

  it("respects depth, leaf and child-size limits; leaf values are float32", () => {
    const fit = fitGbdt(train, { maxTrees: 30, maxDepth: 3, maxLeaves: 5, minSamplesLeaf: 40, seed: 3 });
    for (const t of fit.model.trees) {
      assert.ok(treeDepth(t) <= 3);
      const leaves = Array.from(t.feature).filter((f) => f < 0).length;
      assert.ok(leaves <= 5);
      t.feature.forEach((f, i) => {
        if (f < 0) {
          assert.ok(t.cover[i]! >= 40);
          assert.equal(Math.fround(t.value[i]!), t.value[i]);
        } else {
          assert.equal(t.cover[i], t.cover[t.left[i]!]! + t.cover[t.right[i]!]!);
          assert.ok(t.left[i]! > i && t.right[i]! > i);
        }
      });
    }
  });

  it("routes every training row by its float value exactly as by its bin", () => {
    // trees are grown on bins; prediction compares floats with the edges: the two must agree
    const fit = fitGbdt(train, { maxTrees: 20, maxDepth: 5, maxLeaves: 20, seed: 4 });
    const mapper = fitBins(train.x, train.cols, Array.from({ length: train.rows }, (_, i) => i));
    for (const t of fit.model.trees) {
      t.feature.forEach((f, i) => {
        if (f < 0) return;
        const edges = Array.from(mapper.columns[f]!.edges);
        assert.ok(edges.includes(t.threshold[i]!) || t.threshold[i] === 3.4028234663852886e38, `threshold ${t.threshold[i]} is an edge`);
      });
    }
    for (let r = 0; r < 200; r++) assert.ok(leafIndex(fit.model.trees[0]!, train.x, r * train.cols) > 0);
  });

  it("is deterministic for a seed, and the seed drives subsampling", () => {
    const options = { maxTrees: 25, subsample: 0.7, colsample: 0.6, seed: 42 };
    const a = fitGbdt(train, options, validation);
    const b = fitGbdt(train, options, validation);
    assert.ok(sameTrees(a.model.trees, b.model.trees));
    assert.deepEqual(a.validationLoss, b.validationLoss);
    const c = fitGbdt(train, { ...options, seed: 43 }, validation);
    assert.ok(!sameTrees(a.model.trees, c.model.trees));
  });

  it("fits squared error", () => {
    const random = mulberry32(5);
    const n = 3000;
    const x = Float32Array.from({ length: n * 2 }, () => Math.fround(random() * 4 - 2));
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(x[2 * i]!) * 3 + x[2 * i + 1]! ** 2 + (random() - 0.5) * 0.2);
    const data = { x, rows: n, cols: 2, y };
    const fit = fitGbdt(data, { objective: "squared_error", maxTrees: 300, maxDepth: 4, maxLeaves: 16, learningRate: 0.1, seed: 1 });
    const mean = y.reduce((s, v) => s + v, 0) / n;
    assert.ok(Math.abs(fit.model.baseScore - mean) < 1e-9);
    const rmse = loss("squared_error", predictRaw(fit.model, x, n), y);
    assert.ok(rmse < 0.2, `RMSE ${rmse}`);
  });

  it("rejects bad parameters and data", () => {
    assert.throws(() => resolveParams({ learningRate: 0 }), /learningRate/);
    assert.throws(() => resolveParams({ maxBins: 256 }), RangeError);
    assert.throws(() => resolveParams({ subsample: 1.5 }), /subsample/);
    assert.throws(() => fitGbdt({ x: new Float32Array(4), rows: 2, cols: 2, y: [0, 2] }, {}), /expected 0 or 1/);
    assert.throws(() => fitGbdt({ x: new Float32Array(4), rows: 2, cols: 2, y: [1, 1] }, {}), /one class/);
    assert.throws(() => fitGbdt({ x: new Float32Array(3), rows: 2, cols: 2, y: [0, 1] }, {}), /needs 4 values/);
  });
});

describe("gbdt cross-fitting", () => {
  const data = classification(3000, 7);

  it("assigns stratified folds", () => {
    const fold = assignFolds(data.y, 4, 1, true);
    const positives = Array.from(data.y).reduce((s, v) => s + v, 0);
    for (let k = 0; k < 4; k++) {
      const rows = Array.from(fold).filter((f) => f === k).length;
      const pos = Array.from(fold).filter((f, i) => f === k && data.y[i] === 1).length;
      assert.ok(Math.abs(rows - 750) <= 1);
      assert.ok(Math.abs(pos - positives / 4) <= 1);
    }
  });

  it("averages its members into one ensemble, with out-of-fold scores", () => {
    const fit = fitCrossFitted(data, { maxTrees: 400, maxDepth: 3, maxLeaves: 8, seed: 2 }, 4, 3);
    assert.equal(fit.members.length, 4);
    assert.equal(fit.model.trees.length, fit.members.reduce((s, m) => s + m.bestRounds, 0));
    const raw = predictRaw(fit.model, data.x, 50);
    const memberRaw = fit.members.map((m) => predictRaw(m.model, data.x, 50));
    for (let i = 0; i < 50; i++) {
      const mean = memberRaw.reduce((s, r) => s + r[i]!, 0) / 4;
      assert.ok(Math.abs(raw[i]! - mean) < 1e-12); // ÷4 is exact in float32
      const own = fit.members[fit.fold[i]!]!;
      assert.equal(fit.outOfFold[i], predictRaw(own.model, data.x.subarray(i * 5, i * 5 + 5), 1)[0]);
    }
    assert.ok(rocAuc(data.y, fit.outOfFold) > 0.8);
    assert.throws(() => averageEnsembles([]), RangeError);
  });
});
