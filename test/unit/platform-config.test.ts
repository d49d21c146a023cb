import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { ValidationError } from "../../src/errors.ts";
import { compareVersions, churnRiskLevel } from "../../src/models/index.ts";
import { platformNodeFlags } from "../../src/node-flags.mjs";
import { parseRoles } from "../../src/platform.ts";
import { streamNames } from "../../src/streams/index.ts";
import { parseInput } from "../../src/api/validation.ts";
import { z } from "zod";

describe("config", () => {
  it("has localhost defaults", () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 8000);
    assert.equal(c.NATS_URL, "nats://127.0.0.1:4222");
    assert.equal(c.DATABASE_SCHEMA, "tidecast");
  });
  it("says what to fix when a value is invalid", () => {
    assert.throws(() => loadConfig({ PORT: "eighty" }), (e: unknown) => e instanceof ConfigError && /PORT/.test(e.message));
    assert.throws(() => loadConfig({ DATABASE_SCHEMA: "Robert'); DROP" }), /DATABASE_SCHEMA/);
  });
  it("refuses default secrets in production", () => {
    assert.throws(() => loadConfig({ NODE_ENV: "production" }), /JWT_SECRET/);
    assert.throws(() => loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(40) }), /ADMIN_PASSWORD/);
    const ok = loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(40), ADMIN_PASSWORD: "a-long-password" });
    assert.equal(ok.NODE_ENV, "production");
  });
});

describe("roles", () => {
  it("runs everything by default and single pipelines on request", () => {
    const every = ["scorer", "churn", "anomaly", "lead", "recommendations", "webhooks"];
    assert.deepEqual(parseRoles("all"), { api: true, pipelines: every, jobs: true });
    assert.deepEqual(parseRoles("api"), { api: true, pipelines: [], jobs: false });
    assert.deepEqual(parseRoles("pipelines"), { api: false, pipelines: every, jobs: false });
    assert.deepEqual(parseRoles("api,churn"), { api: true, pipelines: ["churn"], jobs: false });
    assert.deepEqual(parseRoles("jobs"), { api: false, pipelines: [], jobs: true });
    assert.throws(() => parseRoles("churn,weather"), /weather/);
  });
  it("gives a large young generation only to processes that serve no API", () => {
    const large = ["--max-semi-space-size=64"];
    assert.deepEqual(platformNodeFlags(undefined), []);
    assert.deepEqual(platformNodeFlags("all"), []);
    assert.deepEqual(platformNodeFlags("api, churn"), []);
    assert.deepEqual(platformNodeFlags("churn"), large);
    assert.deepEqual(platformNodeFlags("pipelines,jobs"), large);
  });
});

describe("stream names", () => {
  const n = streamNames("T1_", "t1.");
  it("prefixes streams and subjects so installs can share a server", () => {
    assert.equal(n.events("customer"), "T1_EVENTS_CUSTOMER");
    assert.equal(n.eventSubject("customer", "c-1"), "t1.events.customer.c-1");
    assert.equal(n.predictSubject("churn_telco"), "t1.predict.churn_telco");
    assert.equal(n.eventFilter("customer"), "t1.events.customer.*");
    assert.equal(n.notices, "T1_NOTICES");
    assert.equal(n.noticeSubject("prediction.completed"), "t1.notices.prediction.completed");
    assert.equal(n.noticeFilter(), "t1.notices.>");
  });
  it("parses subjects back, and rejects foreign ones", () => {
    assert.deepEqual(n.parseEventSubject("t1.events.lead.L-9"), { domain: "lead", key: "L-9" });
    assert.equal(n.parseEventSubject("t2.events.lead.L-9"), null);
    assert.equal(n.parsePredictSubject("t1.predict.churn_telco"), "churn_telco");
    assert.equal(n.parsePredictSubject("t1.predict.a.b"), null);
  });
});

describe("helpers", () => {
  it("compares dotted versions numerically", () => {
    assert.ok(compareVersions("1.10.0", "1.9.2") > 0);
    assert.equal(compareVersions("2.0", "2.0.0"), 0);
    assert.ok(compareVersions("1.0.0", "2.0.0") < 0);
  });
  it("bands churn risk", () => {
    assert.equal(churnRiskLevel(0.1), "Low");
    assert.equal(churnRiskLevel(0.3), "Medium");
    assert.equal(churnRiskLevel(0.6), "High");
  });
  it("turns schema failures into a 422 naming each field", () => {
    const schema = z.strictObject({ a: z.number(), b: z.object({ c: z.string() }) });
    assert.throws(
      () => parseInput(schema, { a: "x", b: { c: 1 }, d: 1 }, "body"),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.equal(e.status, 422);
        assert.deepEqual(Object.keys(e.details).sort(), ["a", "b.c", "d"]);
        assert.deepEqual(e.details.d, ["unknown field"]);
        return true;
      },
    );
  });
});
