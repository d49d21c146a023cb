import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Platform } from "../../src/platform.ts";
import { dropIsolated, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";

describe("model catalogue API", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let http: Awaited<ReturnType<typeof signedInClient>>["http"];

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: [] });
    http = (await signedInClient(platform)).http;
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
  });

  it("lists every shipped model with its features and measured metrics", async () => {
    const res = await http.get("/api/v1/models");
    assert.equal(res.status, 200);
    const churn = res.body.items.find((m: { model_id: string }) => m.model_id === "churn_telco");
    assert.ok(churn, "churn_telco is listed");
    assert.equal(res.body.total, res.body.items.length);
    assert.ok(churn.metrics.auc > 0.8);
    const tenure = churn.features.find((f: { name: string }) => f.name === "tenure");
    assert.equal(tenure.type, "integer");
    assert.equal(tenure.required, true);
    assert.equal(tenure.out_of_range, "clip");
  });

  it("describes one model with its card, JSON schema and versions, and records versions in Postgres", async () => {
    const res = await http.get("/api/v1/models/churn_telco");
    assert.equal(res.status, 200);
    assert.equal(res.body.card.name, "churn_telco");
    assert.equal(res.body.feature_schema.type, "object");
    // contract_type is also accepted as `contract` (the dataset's column): one of the two is required
    assert.deepEqual(res.body.feature_schema.required.sort(), ["monthly_charges", "tenure"]);
    assert.deepEqual(res.body.feature_schema.allOf, [{ anyOf: [{ required: ["contract_type"] }, { required: ["contract"] }] }]);
    assert.equal(res.body.feature_schema.additionalProperties, false);
    assert.match(res.body.feature_schema.properties.customer_id.description, /^Not a feature \(the customer's identifier\)/);
    assert.deepEqual(res.body.ignored_columns.map((c: { name: string }) => c.name), ["customer_id", "churn"]);
    assert.deepEqual(res.body.features.find((f: { name: string }) => f.name === "contract_type").aliases, ["contract"]);
    const versions = await http.get("/api/v1/models/churn_telco/versions");
    assert.ok(versions.body.items.some((v: { active: boolean }) => v.active));
    const active = versions.body.items.find((v: { active: boolean }) => v.active);
    const row = await platform.db("model_versions").join("models", "models.id", "model_versions.model_id").where({ name: "churn_telco", is_active: true }).first("version", "artifact_sha256");
    assert.equal(row.version, active.version);
    assert.equal(row.artifact_sha256, active.artifact_sha256);
    const one = await http.get(`/api/v1/models/churn_telco/versions/${active.version}`);
    assert.equal(one.body.card.version, active.version);
    const metrics = await http.get("/api/v1/models/churn_telco/metrics");
    assert.equal(metrics.body.model_version, active.version);
    assert.ok(metrics.body.metrics.auc > metrics.body.baseline.auc);
  });

  it("serves global feature importance in seed 001's shape", async () => {
    const res = await http.get("/api/v1/analytics/feature-importance?model_id=churn_telco");
    assert.equal(res.status, 200);
    const values = Object.values(res.body.feature_importance) as number[];
    assert.ok(values.length > 5);
    assert.deepEqual(values, [...values].sort((a, b) => b - a), "sorted, largest first");
    assert.ok(res.body.sample_size > 0);
  });

  it("publishes the OpenAPI document generated from the route schemas, and Swagger UI at /docs", async () => {
    const doc = await http.get("/openapi.json");
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, "3.1.0");
    for (const path of ["/api/predict/churn", "/api/v1/predict", "/api/v1/predictions/{prediction_id}", "/api/events", "/api/auth/login", "/api/v1/models"]) {
      assert.ok(doc.body.paths[path], path);
    }
    const churn = doc.body.components.schemas.ChurnFeatures;
    assert.deepEqual(churn.required.sort(), ["monthly_charges", "tenure"]);
    assert.deepEqual(churn.allOf, [{ anyOf: [{ required: ["contract_type"] }, { required: ["contract"] }] }]);
    const page = await http.get("/docs");
    assert.match(page.text, /swagger-ui-bundle\.js/);
    assert.equal((await http.get("/docs/assets/swagger-ui-bundle.js")).status, 200);
    assert.equal((await http.get("/docs/assets/package.json")).status, 404);
  });

  it("shows seed 000's model gallery, and activates a version through it for admins only", async () => {
    const list = await http.get("/api/model-gallery/models");
    assert.equal(list.status, 200, list.text);
    const catalogue = (await http.get("/api/v1/models")).body.items as Array<{ model_id: string; version: string; metrics: { accuracy?: number } }>;
    assert.deepEqual([list.body.total, list.body.active], [catalogue.length, catalogue.length]);
    const ids = new Map((await platform.db("models").select("id", "name")).map((m) => [m.name, m.id]));
    for (const entry of list.body.models as Array<{ id: number; name: string; version: string; accuracy: number | null; features: string[]; status: string }>) {
      const same = catalogue.find((m) => m.model_id === entry.name)!;
      assert.equal(entry.version, same.version);
      assert.equal(entry.id, ids.get(entry.name));
      assert.equal(entry.status, "active");
      assert.equal(entry.accuracy, same.metrics.accuracy === undefined ? null : Math.round(same.metrics.accuracy * 1000) / 10, entry.name);
    }
    const churn = await http.get("/api/model-gallery/models/churn_telco");
    assert.deepEqual(churn.body.versions.map((v: { version: string }) => v.version), ["1.2.0", "1.1.0", "1.0.0"]);
    assert.equal(churn.body.versions.filter((v: { active: boolean }) => v.active).length, 1);
    assert.equal(churn.body.training_data_size, (await http.get("/api/v1/models/churn_telco")).body.training.rows);
    assert.equal((await http.get("/api/model-gallery/models/nope")).status, 404);

    assert.equal((await http.post("/api/model-gallery/models/churn_telco/activate", { version: "v1.1.0" })).status, 403, "admins only");
    const admin = (await signedInClient(platform, "admin")).http;
    const activated = await admin.post("/api/model-gallery/models/churn_telco/activate", { version: "v1.1.0" });
    assert.equal(activated.status, 200, activated.text);
    assert.deepEqual([activated.body.version, activated.body.previous_version], ["1.1.0", "1.2.0"]);
    assert.equal((await http.get("/api/model-gallery/models/churn_telco")).body.version, "1.1.0");
    assert.equal((await admin.post("/api/model-gallery/models/churn_telco/activate", { version: "1.2.0" })).status, 200);
    assert.equal((await admin.post("/api/model-gallery/models/churn_telco/activate", { version: "v2" })).status, 422);
  });

  it("answers unknown models with MODEL_NOT_FOUND", async () => {
    for (const path of ["/api/v1/models/nope", "/api/v1/models/nope/versions", "/api/v1/models/churn_telco/versions/9.9.9", "/api/v1/analytics/feature-importance?model_id=nope"]) {
      const res = await http.get(path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.code, "MODEL_NOT_FOUND");
    }
  });
});
