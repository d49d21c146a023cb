import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Platform } from "../../src/platform.ts";
import { dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { shippedVersions } from "../helpers/shipped.ts";
import { signedInClient } from "../helpers/users.ts";

/** The newest shipped version of each model (the one the registry serves), with the trainer's own scores. */
const shippedParity = () => shippedVersions().map((s) => ({ model: s.model, version: s.version, ...s.parity }));

describe("every shipped model, end to end through the stream", () => {
  const config = isolatedConfig({ RATE_LIMIT_API_KEY_PER_HOUR: "100000" });
  let platform: Platform;
  let http: Awaited<ReturnType<typeof signedInClient>>["http"];

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: ["scorer"] });
    http = (await signedInClient(platform)).http;
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  for (const parity of shippedParity()) {
    it(`${parity.model} ${parity.version}: POST /api/v1/predict reproduces the trainer's own scores`, async () => {
      for (const row of parity.rows.slice(0, 5)) {
        const res = await http.post("/api/v1/predict", { model_id: parity.model, features: row.features });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body.model_version, parity.version);
        // float32 outputs: an absolute tolerance below 1, relative above (a forecast of hundreds of units)
        const tolerance = Math.max(parity.tolerance, 1e-5) * Math.max(1, Math.abs(row.probability)) + 1e-6;
        assert.ok(Math.abs(res.body.score - row.probability) <= tolerance, `${res.body.score} vs ${row.probability}`);
      }
    });
  }

  for (const parity of shippedParity()) {
    it(`${parity.model} ${parity.version}: takes a dataset row as it is (column names, decimal text, ignored columns)`, async () => {
      const model = (await http.get(`/api/v1/models/${parity.model}`)).body as {
        features: Array<{ name: string; type: string; aliases?: string[] }>;
        ignored_columns: Array<{ name: string }>;
      };
      const types = new Map(model.features.map((f) => [f.name, f]));
      for (const row of parity.rows.slice(0, 3)) {
        const asRow: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(row.features)) {
          const f = types.get(name)!;
          // a CSV read without typing: numbers and booleans as text, under the dataset's column name
          const text = ["number", "integer", "boolean"].includes(f.type) ? String(value) : value;
          asRow[f.aliases?.[0] ?? name] = text;
        }
        for (const column of model.ignored_columns) asRow[column.name] = "ignored-value";
        const res = await http.post("/api/v1/predict", { model_id: parity.model, features: asRow });
        assert.equal(res.status, 200, res.text);
        const tolerance = Math.max(parity.tolerance, 1e-5) * Math.max(1, Math.abs(row.probability)) + 1e-6;
        assert.ok(Math.abs(res.body.score - row.probability) <= tolerance, `${res.body.score} vs ${row.probability}`);
        for (const column of model.ignored_columns) {
          assert.ok(res.body.warnings.some((w: string) => w.startsWith(`${column.name}: not used by this model`)), column.name);
        }
      }
    });
  }

  it("answers POST /api/predict/sentiment in seed 000's shape", async () => {
    const good = await http.post("/api/predict/sentiment", { text: "Excellent product, works perfectly and I love it." });
    assert.equal(good.status, 200, good.text);
    assert.equal(good.body.prediction.sentiment, "positive");
    assert.ok(good.body.prediction.score > 0 && good.body.prediction.score <= 1);
    assert.ok(good.body.prediction.keywords.length > 0);
    const bad = await http.post("/api/predict/sentiment", { text: "Terrible, it broke after a day. Waste of money." });
    assert.equal(bad.body.prediction.sentiment, "negative");
    assert.equal((await http.post("/api/predict/sentiment", { text: "" })).status, 422);
    assert.equal((await http.post("/api/predict/sentiment", { text: "x".repeat(10_001) })).status, 422);
  });

  it("serves cards without the explanation internals", async () => {
    const res = await http.get("/api/v1/models/credit_default");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.card.explainer, { kind: "tree" });
    assert.ok(res.text.length < 200_000, `${res.text.length} bytes`);
  });
});
