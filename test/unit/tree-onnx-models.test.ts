import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createEncoder, encodeBatch } from "../../src/models/encode.ts";
import { createExplainer } from "../../src/models/explain.ts";
import { loadOnnxSession, runBatch } from "../../src/models/onnx-runtime.ts";
import { MODEL_FILE, readCard, readParity } from "../../src/training/artifacts.ts";

/** The shipped gradient-boosted-tree models and the features the API serves for each. */
const BANK = [
  "age", "job", "marital", "education", "default", "housing", "loan", "contact", "month", "day_of_week", "campaign",
  "pdays", "previous", "poutcome", "emp_var_rate", "cons_price_idx", "cons_conf_idx", "euribor3m", "nr_employed",
];
const AI4I = ["type", "air_temperature_k", "process_temperature_k", "rotational_speed_rpm", "torque_nm", "tool_wear_min"];
const SHIPPED: Record<string, string[]> = {
  "lead_conversion/1.0.0": BANK,
  // 1.1.0 adds derived encoding columns; the features the API serves are unchanged
  "lead_conversion/1.1.0": BANK,
  "lead_conversion/1.2.0": BANK,
  "credit_default/1.0.0": [
    "limit_bal", "sex", "education", "marriage", "age", "pay_0", "pay_2", "pay_3", "pay_4", "pay_5", "pay_6",
    "bill_amt1", "bill_amt2", "bill_amt3", "bill_amt4", "bill_amt5", "bill_amt6",
    "pay_amt1", "pay_amt2", "pay_amt3", "pay_amt4", "pay_amt5", "pay_amt6",
  ],
  "machine_failure/1.0.0": AI4I,
  "machine_failure/1.1.0": AI4I,
  "machine_failure/1.2.0": AI4I,
  "churn_subscription/1.0.0": [
    "watch_time_hours", "subscription_age_months", "device_count", "last_login_days", "payment_failures", "tenure_months", "plan",
  ],
};

const modelsDir = fileURLToPath(new URL("../../models/", import.meta.url));

describe("shipped gradient-boosted tree models", () => {
  it("are all listed here", async () => {
    const found: string[] = [];
    for (const name of await readdir(modelsDir)) {
      for (const version of await readdir(join(modelsDir, name)).catch(() => [])) {
        const card = await readCard(join(modelsDir, name, version)).catch(() => undefined);
        if (card?.algorithm === "gradient_boosted_trees") found.push(`${name}/${version}`);
      }
    }
    assert.deepEqual(found.sort(), Object.keys(SHIPPED).sort());
  });

  for (const [id, featureNames] of Object.entries(SHIPPED)) {
    const dir = join(modelsDir, id);

    it(`${id}: parity.json is reproduced by onnxruntime within its tolerance (≤ 1e-5)`, async () => {
      const card = await readCard(dir);
      const parity = await readParity(dir);
      assert.equal(`${parity.model}/${parity.version}`, id);
      assert.ok(parity.tolerance <= 1e-5);
      assert.ok(parity.rows.length >= 50);
      const session = await loadOnnxSession(join(dir, MODEL_FILE), card);
      const batch = encodeBatch(createEncoder(card), parity.rows.map((r) => r.features));
      assert.equal(batch.n, parity.rows.length, "every parity row encodes");
      for (const value of batch.flat) assert.ok(Number.isFinite(value), "no NaN reaches the model");
      const scores = await runBatch(session, card, batch.flat, batch.n);
      parity.rows.forEach((row, i) => {
        assert.ok(Math.abs(scores[i]! - row.probability) <= parity.tolerance, `row ${i}: onnx ${scores[i]} trainer ${row.probability}`);
      });
      await session.release();
    });

    it(`${id}: TreeSHAP contributions add up to the logit of every parity row`, async () => {
      const card = await readCard(dir);
      const parity = await readParity(dir);
      const explain = createExplainer(card)!;
      const batch = encodeBatch(createEncoder(card), parity.rows.map((r) => r.features));
      const width = card.encoding.columns.length;
      parity.rows.forEach((row, i) => {
        const contributions = explain(batch.flat, i * width);
        const logit = contributions.reduce((s, c) => s + c.contribution, card.explainer!.base_value);
        assert.ok(Math.abs(logit - Math.log(row.probability / (1 - row.probability))) < 1e-6, `row ${i}`);
      });
    });

    it(`${id}: has the card the API relies on`, async () => {
      const card = await readCard(dir);
      assert.equal(card.task, "binary_classification");
      assert.deepEqual(card.features.map((f) => f.name), featureNames);
      assert.deepEqual(card.outputs, { score_output: "probabilities", probability_index: 1, labels: card.outputs.labels });
      assert.equal(card.explainer?.kind, "tree");
      for (const f of card.features) {
        assert.match(f.name, /^[a-z][a-z0-9_]*$/);
        assert.equal(f.out_of_range, "clip", f.name);
        assert.equal(f.unknown_category, "map_unknown", f.name);
        if (!f.required) assert.notEqual(f.default, undefined, `${f.name} needs a default`);
      }
      for (const key of ["auc", "accuracy", "precision", "recall", "f1", "log_loss", "threshold", "rows"]) {
        assert.equal(typeof card.metrics.validation[key], "number", key);
      }
      assert.equal(card.threshold, card.metrics.validation["threshold"]);
      const h = card.training.hyperparameters;
      assert.equal(typeof h["n_trees"], "number");
      assert.equal(typeof h["learning_rate"], "number");
      assert.equal(typeof h["validation_fraction"], "number");
      assert.equal(Object.keys(card.feature_importance).length, featureNames.length);
    });
  }
});
