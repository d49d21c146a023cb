import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { seedPredictRoutes } from "../../src/api/routes/seed-predict.ts";
import { sentimentLabel, sentimentPrediction } from "../../src/api/routes/sentiment.ts";
import type { ApiDeps } from "../../src/api/deps.ts";
import { ModelCardSchema, type ModelCard } from "../../src/models/card.ts";
import { createEncoder, encodeBatch } from "../../src/models/encode.ts";
import { loadOnnxSession, runBatch } from "../../src/models/onnx-runtime.ts";
import { MODEL_FILE, readCard, readParity } from "../../src/training/artifacts.ts";
import { DatasetError } from "../../src/training/csv.ts";
import { parseAfinn, parseLabelledSentences } from "../../src/training/datasets/sentiment.ts";
import { sigmoid } from "../../src/training/logistic.ts";
import { fitSparseLogistic, sparseFromDense, sparseProbabilities } from "../../src/training/sparse-logistic.ts";
import { mulberry32 } from "../../src/training/split.ts";
import { PARITY_EDGE_TEXTS, trainSentiment, type Prepared } from "../../src/training/trainers/sentiment.ts";

describe("sentiment dataset files", () => {
  it("splits each line on its last tab, keeps quotes, trims, and accepts \\r\\n", () => {
    const text = 'He said "great" \tand left.  \t1\r\nBad.\t0\n\n"Quoted, with tab\tinside"\t1\n';
    const parsed = parseLabelledSentences(text, "f.txt");
    assert.deepEqual(parsed.sentences, ['He said "great" \tand left.', "Bad.", '"Quoted, with tab\tinside"']);
    assert.deepEqual(parsed.labels, [1, 0, 1]);
    assert.deepEqual(parsed.lines, [1, 2, 4]);
  });

  it("keeps U+0085 inside a sentence: only \\n ends a line", () => {
    assert.deepEqual(parseLabelledSentences("a\u0085b\t1\n", "f").sentences, ["a\u0085b"]);
  });

  it("names the file and line of a bad row", () => {
    assert.throws(() => parseLabelledSentences("ok\t1\nno tab here\n", "f.txt"), (e: unknown) => e instanceof DatasetError && e.line === 2);
    assert.throws(() => parseLabelledSentences("ok\t2\n", "f.txt"), /f\.txt:1: label is "2"/);
  });

  it("reads AFINN terms, multi-word ones included", () => {
    const afinn = parseAfinn("abandon\t-2\ncool stuff\t3\n", "a.txt");
    assert.deepEqual([...afinn], [["abandon", -2], ["cool stuff", 3]]);
    assert.throws(() => parseAfinn("bad\tx\n", "a.txt"), /a\.txt:1/);
  });
});

describe("sparse logistic regression", () => {
  it("matches the closed-form optimum conditions and ignores zero columns", () => {
    const random = mulberry32(3);
    const n = 300;
    const d = 6;
    const dense = new Float64Array(n * d);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let z = -0.3;
      for (let j = 0; j < d - 1; j++) {
        const x = random() < 0.3 ? random() : 0;
        dense[i * d + j] = x;
        z += (j - 2) * x;
      }
      y[i] = random() < sigmoid(z) ? 1 : 0;
    }
    const x = sparseFromDense(dense, n, d);
    const l2 = 0.01;
    const model = fitSparseLogistic(x, y, { l2 });
    assert.ok(model.converged);
    // stationarity: (1/n) Xᵀ(p − y) + l2 w = 0 and Σ(p − y) = 0
    const p = sparseProbabilities(model.raw, x);
    for (let j = 0; j < d; j++) {
      let g = 0;
      for (let i = 0; i < n; i++) g += (p[i]! - y[i]!) * dense[i * d + j]!;
      assert.ok(Math.abs(g / n + l2 * model.raw.weights[j]!) < 1e-8, `column ${j}`);
    }
    assert.ok(Math.abs(p.reduce((s, v, i) => s + v - y[i]!, 0)) < 1e-6);
    assert.equal(model.raw.weights[d - 1], 0, "an all-zero column gets weight 0");
    assert.throws(() => fitSparseLogistic(x, y, { l2: 0 }), RangeError);
  });
});

function linear(card: ModelCard) {
  const explainer = card.explainer;
  if (explainer?.kind !== "linear") assert.fail("expected a linear explainer");
  return explainer;
}

/** Review-like sentences from seeded templates, labelled by their sentiment word (and negation). */
function fixture(n: number, seed: number): Prepared {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const positive = ["great", "excellent", "amazing", "good", "lovely", "perfect"];
  const negative = ["bad", "terrible", "awful", "poor", "boring", "broken"];
  const subjects = ["The phone", "This movie", "The food", "Service", "The battery", "It"];
  const rows: Record<string, string>[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const negated = random() < 0.2;
    const word = pick(label === 1 !== negated ? positive : negative);
    rows.push({ text: `${pick(subjects)} was ${negated ? "not " : ""}${pick(["really ", "", "so "])}${word}${pick([".", "!", " overall."])}` });
    labels.push(label);
  }
  return {
    data: {
      rows,
      labels: Uint8Array.from(labels),
      origin: (i) => `fixture:${i + 1}`,
      files: ["a.txt", "b.txt"],
      manifest: [
        { file: "a.txt", rows: n / 2, sha256: "0".repeat(64) },
        { file: "b.txt", rows: n / 2, sha256: "1".repeat(64) },
      ],
      sourceFile: "fixture",
    },
    lexicon: { name: "mini", source: "test", license: "none", prefix: "afinn:", terms: { great: 3, excellent: 3, good: 3, bad: -3, terrible: -3, awful: -3 } },
    afinnSha256: "2".repeat(64),
  };
}

describe("sentiment trainer on a fixture", () => {
  const prepared = fixture(240, 11);
  const now = new Date("2020-01-01T00:00:00Z");
  const trained = trainSentiment(prepared, { now, sourceFile: "fixture" });

  it("writes a card whose text feature carries the whole tokenisation and vocabulary", () => {
    const card = ModelCardSchema.parse(trained.card);
    assert.equal(card.features.length, 1);
    const text = card.features[0]!;
    assert.equal(text.type, "text");
    assert.equal(text.max_length, 10_000);
    assert.equal(text.analyzer?.normalization, "NFKC");
    assert.ok(text.analyzer?.negation);
    assert.equal(text.analyzer?.vocabulary.documents, card.training.split.train_rows);
    assert.ok(card.encoding.columns.every((c) => c.kind === "term" && c.feature === "text"));
    assert.equal(linear(card).coefficients.length, card.encoding.columns.length);
    assert.equal(card.threshold, 0.5);
    assert.equal(card.training.synthetic, false);
    for (const key of ["accuracy", "precision", "recall", "f1", "auc"]) assert.equal(typeof card.metrics.validation[key], "number", key);
    assert.ok(card.metrics.validation["accuracy"]! > 0.8, `fixture accuracy ${card.metrics.validation["accuracy"]}`);
    assert.match(String(card.training.hyperparameters["tokenisation"]), /Negation/);
    assert.equal(trained.parity.rows.length, 60 + PARITY_EDGE_TEXTS.length);
  });

  it("onnxruntime reproduces the trainer through the serving encoder", async () => {
    const { card, parity } = trained;
    const session = await loadOnnxSession(trained.onnx, card);
    const batch = encodeBatch(createEncoder(card), parity.rows.map((r) => r.features));
    assert.equal(batch.n, parity.rows.length);
    const scores = await runBatch(session, card, batch.flat, batch.n);
    parity.rows.forEach((row, i) => assert.ok(Math.abs(scores[i]! - row.probability) <= parity.tolerance, `row ${i}`));
    await session.release();
  });

  it("is deterministic", () => {
    const again = trainSentiment(prepared, { now, sourceFile: "fixture" });
    assert.deepEqual(Buffer.from(again.onnx), Buffer.from(trained.onnx));
    assert.deepEqual(again.card, trained.card);
  });

  it("answers seed 000's prediction shape", () => {
    const card = trained.card;
    const model = { card, encoder: createEncoder(card) };
    const probability = (text: string) => {
      const r = model.encoder({ text });
      assert.ok(r.ok);
      const explainer = linear(card);
      let z = explainer.intercept;
      r.vector.forEach((x, j) => (z += explainer.coefficients[j]! * x));
      return sigmoid(z);
    };
    const good = sentimentPrediction(model, "The food was great!", probability("The food was great!"));
    assert.equal(good.sentiment, "positive");
    assert.ok(good.keywords.includes("great"), good.keywords.join());
    assert.ok(good.score > 0 && good.score <= 1 && good.confidence > 0.5);
    const bad = sentimentPrediction(model, "The food was not great.", probability("The food was not great."));
    assert.equal(bad.sentiment, "negative");
    assert.ok(bad.keywords.includes("not_great"), bad.keywords.join());
  });
});

describe("sentiment labels", () => {
  it("labels by the card's threshold, as /api/v1/predict does, and is neutral only without any known word", () => {
    assert.equal(sentimentLabel(0.5, 0.5), "positive");
    assert.equal(sentimentLabel(0.49, 0.5), "negative");
    assert.equal(sentimentLabel(0.51, 0.5), "positive");
    assert.equal(sentimentLabel(0.55, 0.6), "negative");
    assert.equal(sentimentLabel(0.99, 0.5, false), "neutral");
    assert.equal(sentimentLabel(0.01, 0.5, false), "neutral");
  });
});

describe("shipped models/sentiment/1.0.0", () => {
  const dir = fileURLToPath(new URL("../../models/sentiment/1.0.0/", import.meta.url));

  it("parity.json (validation sentences and tokeniser edge cases) is reproduced by onnxruntime", async () => {
    const card = await readCard(dir);
    const parity = await readParity(dir);
    assert.equal(parity.model, "sentiment");
    assert.ok(parity.tolerance <= 1e-5);
    assert.ok(parity.rows.length >= 60);
    for (const edge of PARITY_EDGE_TEXTS) assert.ok(parity.rows.some((r) => r.features["text"] === edge), edge.slice(0, 20));
    const session = await loadOnnxSession(`${dir}/${MODEL_FILE}`, card);
    const batch = encodeBatch(createEncoder(card), parity.rows.map((r) => r.features));
    assert.equal(batch.n, parity.rows.length, "every parity row encodes");
    const scores = await runBatch(session, card, batch.flat, batch.n);
    parity.rows.forEach((row, i) => assert.ok(Math.abs(scores[i]! - row.probability) <= parity.tolerance, `row ${i}: ${scores[i]} vs ${row.probability}`));
    await session.release();
  });

  it("has the card the API relies on, with measured metrics at or above target", async () => {
    const card = await readCard(dir);
    const v = card.metrics.validation;
    assert.ok(v["accuracy"]! >= 0.83, `validation accuracy ${v["accuracy"]}`);
    for (const key of ["auc", "precision", "recall", "f1"]) assert.ok(v[key]! > 0.8, `${key} ${v[key]}`);
    assert.equal(card.training.rows, 2400);
    assert.equal(card.training.split.validation_rows, 480);
    assert.equal(v["rows"], 480);
    assert.equal(card.training.synthetic, false);
    assert.ok(card.features[0]?.analyzer?.lexicon, "AFINN terms are in the card");
    assert.equal(linear(card).coefficients.length, card.encoding.columns.length);
    assert.match(String(card.training.hyperparameters["tokenisation"]), /NFKC/);
  });

  it("gives keywords and labels through the route's presenter", async () => {
    const card: ModelCard = await readCard(dir);
    const model = { card, encoder: createEncoder(card) };
    const session = await loadOnnxSession(`${dir}/${MODEL_FILE}`, card);
    const texts = ["The food was not good.", "This is the best phone I have ever owned, amazing and perfect!", "xyzzy"];
    const batch = encodeBatch(model.encoder, texts.map((text) => ({ text })));
    const scores = await runBatch(session, card, batch.flat, batch.n);
    await session.release();
    const [notGood, best, nothing] = texts.map((t, i) => sentimentPrediction(model, t, scores[i]!));
    assert.equal(notGood!.sentiment, "negative");
    assert.ok(notGood!.keywords.includes("not_good"), notGood!.keywords.join());
    assert.ok(notGood!.score < -0.5);
    assert.equal(best!.sentiment, "positive");
    assert.ok(best!.keywords.includes("amazing") && best!.keywords.includes("perfect"), best!.keywords.join());
    assert.equal(nothing!.sentiment, "neutral", "no known word: nothing to go on");
    assert.deepEqual(nothing!.keywords, []);

    // an uncertain answer keeps the model's label (the card's accuracy is this route's), with its low confidence
    const uncertain = (await readParity(dir)).rows.find((r) => Math.abs(r.probability - 0.5) < 0.05)!;
    const answer = sentimentPrediction(model, String(uncertain.features["text"]), uncertain.probability);
    assert.equal(answer.sentiment, uncertain.probability >= card.threshold! ? "positive" : "negative");
    assert.ok(answer.confidence < 0.55, String(answer.confidence));
  });

  it("mounts POST /api/predict/sentiment only when the model is loaded, with a 1..10,000-character body", async () => {
    const card = await readCard(dir);
    const deps = (has: boolean) =>
      ({ registry: { has: (name: string) => has && name === "sentiment", get: () => ({ card }) }, config: { PREDICT_TIMEOUT_MS: 100 } }) as unknown as ApiDeps;
    assert.deepEqual(seedPredictRoutes(deps(false)), []);
    const [route, ...others] = seedPredictRoutes(deps(true));
    assert.deepEqual(others, []);
    assert.equal(route?.method, "post");
    assert.equal(route?.path, "/api/predict/sentiment");
    const body = route!.body!;
    assert.ok(body.safeParse({ text: "fine" }).success);
    assert.ok(!body.safeParse({ text: "" }).success);
    assert.ok(!body.safeParse({ text: "x".repeat(10_001) }).success);
    assert.ok(!body.safeParse({ text: "ok", extra: 1 }).success);
  });
});
