import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { ModelCardSchema } from "../../src/models/card.ts";
import { createEncoder } from "../../src/models/encode.ts";
import { createExplainer } from "../../src/models/explain.ts";
import { MODEL_FILE, readCard, readParity } from "../../src/training/artifacts.ts";
import {
  EFFECTS,
  generateSubscribers,
  PLANS,
  SUBSCRIPTION_FEATURE_NAMES,
  SUBSCRIPTION_INTERCEPT,
  subscriptionLogit,
  type Subscriber,
} from "../../src/training/synthetic/subscription-churn.ts";
import { churnSubscription, trainChurnSubscription } from "../../src/training/trainers/churn-subscription.ts";
import { assertOnnxParity, assertRegeneratesCardMetrics } from "../helpers/synthetic-model.ts";

const rate = (labels: Uint8Array) => labels.reduce((s, y) => s + y, 0) / labels.length;

describe("subscription churn generator", () => {
  const g = generateSubscribers(5000, 11);

  it("is deterministic, churns 12–25% of subscribers, and draws seed 003's fields in range", () => {
    assert.deepEqual(generateSubscribers(50, 11).rows, g.rows.slice(0, 50));
    assert.notDeepEqual(generateSubscribers(50, 12).rows, g.rows.slice(0, 50));
    const r = rate(g.labels);
    assert.ok(r > 0.12 && r < 0.25, `churn rate ${r}`);
    assert.deepEqual(Object.keys(g.rows[0]!), [...SUBSCRIPTION_FEATURE_NAMES]);
    for (const c of g.subscribers) {
      assert.ok(c.watch_time_hours >= 0 && c.watch_time_hours <= 720);
      assert.ok(c.subscription_age_months >= 1 && c.subscription_age_months <= 120 && Number.isInteger(c.subscription_age_months));
      assert.ok(c.tenure_months >= c.subscription_age_months && c.tenure_months <= 240);
      assert.ok(c.device_count >= 1 && c.device_count <= 10);
      assert.ok(c.last_login_days >= 0 && c.last_login_days <= 90);
      assert.ok(c.payment_failures >= 0 && c.payment_failures <= 6);
      assert.ok(PLANS.includes(c.plan));
    }
    assert.ok(g.subscribers.some((c) => c.tenure_months > c.subscription_age_months), "some came back after a lapse");
  });

  it("computes churn from the documented effects, each pushing the stated way", () => {
    const c = g.subscribers[0]!;
    const sum = EFFECTS.reduce((s, e) => s + e.coefficient * e.value(c), 0);
    assert.ok(Math.abs(subscriptionLogit(c, 0) - (SUBSCRIPTION_INTERCEPT + sum)) < 1e-12);
    assert.ok(Math.abs(subscriptionLogit(c, 0) - subscriptionLogit(c, 1) - 0.5) < 1e-12, "satisfaction lowers churn by 0.5 per unit");
    const base: Subscriber = { watch_time_hours: 25, subscription_age_months: 12, device_count: 2, last_login_days: 3, payment_failures: 0, tenure_months: 12, plan: "Standard" };
    const z = (change: Partial<Subscriber>) => subscriptionLogit({ ...base, ...change }, 0) - subscriptionLogit(base, 0);
    assert.ok(z({ watch_time_hours: 2 }) > 0, "low watch time → more churn");
    assert.ok(z({ payment_failures: 2 }) > 0, "payment failures → more churn");
    assert.ok(z({ last_login_days: 30 }) > 0, "a long time since the last login → more churn");
    assert.ok(z({ device_count: 1 }) > 0, "few devices → more churn");
    assert.ok(z({ subscription_age_months: 2, tenure_months: 2 }) > 0, "a young subscription → more churn");
    assert.ok(z({ tenure_months: 30 }) > 0, "came back after a lapse → more churn");
    assert.ok(z({ plan: "Basic" }) > 0 && z({ plan: "Premium 4K" }) < 0);
  });
});

describe("churn_subscription trainer on a small sample", () => {
  it("writes a synthetic GBDT card with TreeSHAP factors and onnxruntime parity", async () => {
    const trained = await trainChurnSubscription(3000, 5, { now: new Date("2020-01-01T00:00:00Z") });
    const card = ModelCardSchema.parse(trained.card);
    assert.equal(card.training.synthetic, true);
    assert.match(card.description, /TRAINED ON SYNTHETIC DATA/);
    assert.match(card.training.notes, /^SYNTHETIC DATA: 3000 rows/);
    assert.equal(card.explainer?.kind, "tree");
    assert.ok(card.metrics.validation["auc"]! > 0.7, `AUC ${card.metrics.validation["auc"]}`);
    const explain = createExplainer(card)!;
    const encoded = createEncoder(card)({ watch_time_hours: 1, subscription_age_months: 2, device_count: 1, last_login_days: 40, payment_failures: 3, tenure_months: 2 });
    assert.ok(encoded.ok, "plan is optional");
    const factors = explain(encoded.vector, 0).map((c) => c.feature);
    assert.deepEqual([...factors].sort(), [...SUBSCRIPTION_FEATURE_NAMES].sort(), "every field explained, the derived column folded into its two");
    await assertOnnxParity(card, trained.onnx, trained.parity.rows, trained.parity.tolerance);
  });
});

describe("shipped models/churn_subscription/1.0.0", () => {
  const dir = fileURLToPath(new URL("../../models/churn_subscription/1.0.0/", import.meta.url));

  it("parity.json is reproduced by onnxruntime within its tolerance", async () => {
    const card = await readCard(dir);
    const parity = await readParity(dir);
    assert.equal(parity.model, "churn_subscription");
    assert.ok(parity.tolerance <= 1e-5 && parity.rows.length >= 50);
    await assertOnnxParity(card, `${dir}/${MODEL_FILE}`, parity.rows, parity.tolerance);
  });

  it("says it is synthetic, and its validation rows regenerate to the card's metrics", async () => {
    const card = await readCard(dir);
    assert.equal(card.training.synthetic, true);
    assert.match(card.description, /TRAINED ON SYNTHETIC DATA/);
    assert.match(card.training.notes, /SYNTHETIC DATA/);
    await assertRegeneratesCardMetrics(churnSubscription, card, dir);
  });
});
