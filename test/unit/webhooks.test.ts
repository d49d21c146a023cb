import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config.ts";
import { deliveriesFor, DeliveryRefusedError, notice, postJson, signatureHeader, urlProblem, verifySignature } from "../../src/webhooks/index.ts";

const ALICE = 1;
const BOB = 2;

describe("webhook dispatch", () => {
  const endpoints = [
    { id: "a-pred", user_id: ALICE, events: ["prediction.completed" as const] },
    { id: "b-pred", user_id: BOB, events: ["prediction.completed" as const, "user.credit_low" as const] },
    { id: "b-alerts", user_id: BOB, events: ["alert.triggered" as const, "churn.alert" as const] },
    { id: "a-models", user_id: ALICE, events: ["model.updated" as const] },
  ];

  it("sends an owner event to its owner's endpoints only, even when one batch holds several owners'", () => {
    const notices = [notice("prediction.completed", "p1", ALICE, {}), notice("prediction.completed", "p2", BOB, {}), notice("user.credit_low", "u", BOB, {})];
    const sent = deliveriesFor(notices, endpoints).map((d) => `${d.notice_id}→${d.webhook_id}`);
    assert.deepEqual(sent, ["prediction.completed:p1→a-pred", "prediction.completed:p2→b-pred", "user.credit_low:u→b-pred"]);
  });

  it("sends a platform event to every subscriber once, under the most specific name it subscribed to", () => {
    const churn = notice("alert.triggered", "x", null, { type: "churn_risk" });
    const hot = notice("alert.triggered", "y", null, { type: "lead.hot" });
    const deployed = notice("model.deployed", "m", null, { model: "churn_telco" });
    const sent = deliveriesFor([churn, hot, deployed], endpoints).map((d) => [d.webhook_id, d.event, d.payload.event]);
    assert.deepEqual(sent, [
      ["b-alerts", "churn.alert", "churn.alert"],
      ["b-alerts", "alert.triggered", "alert.triggered"],
      ["a-models", "model.updated", "model.updated"],
    ]);
  });
});

describe("webhook signatures", () => {
  const body = JSON.stringify({ event: "prediction.completed", data: { score: 0.7 } });
  const now = 1_760_000_000;

  it("verifies a signature over the time and the exact body, within the tolerance", () => {
    const header = signatureHeader("whsec_k", body, now);
    assert.match(header, /^t=1760000000,v1=[0-9a-f]{64}$/);
    assert.ok(verifySignature("whsec_k", body, header, 300, now + 299));
    assert.ok(!verifySignature("whsec_k", body, header, 300, now + 301), "too old: a replay");
    assert.ok(!verifySignature("whsec_other", body, header, 300, now));
    assert.ok(!verifySignature("whsec_k", body.replace("0.7", "0.8"), header, 300, now));
    assert.ok(!verifySignature("whsec_k", body, header.replace(/v1=../, "v1=zz"), 300, now));
    assert.ok(!verifySignature("whsec_k", body, "garbage", 300, now));
  });
});

describe("webhook URLs", () => {
  it("takes http(s) only, and private addresses only where allowed", () => {
    assert.equal(urlProblem("https://hooks.example.com/x", false), null);
    assert.equal(urlProblem("not a url", true), "is not a URL");
    assert.equal(urlProblem("ftp://example.com", true), "must be an http or https URL");
    assert.match(urlProblem("https://u:p@example.com", true)!, /credentials/);
    for (const url of ["http://127.0.0.1:9/x", "http://localhost/x", "http://10.0.0.5/", "http://[::1]/", "http://169.254.169.254/latest", "http://api.localhost/"]) {
      assert.match(urlProblem(url, false) ?? "", /private or loopback/, url);
      assert.equal(urlProblem(url, true), null, url);
    }
  });

  it("defaults to refusing private networks in production only", () => {
    const base = { JWT_SECRET: "x".repeat(32), ADMIN_PASSWORD: "a-long-password" };
    assert.equal(loadConfig({ ...base, NODE_ENV: "production" }).WEBHOOK_ALLOW_PRIVATE_NETWORKS, false);
    assert.equal(loadConfig({ ...base, NODE_ENV: "development" }).WEBHOOK_ALLOW_PRIVATE_NETWORKS, true);
    assert.equal(loadConfig({ ...base, NODE_ENV: "production", WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" }).WEBHOOK_ALLOW_PRIVATE_NETWORKS, true);
  });

  it("refuses to deliver to a private address when not allowed, before connecting", async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    try {
      await assert.rejects(postJson(url, "{}", {}, { timeoutMs: 1_000, allowPrivate: false }), DeliveryRefusedError);
      assert.equal(hits, 0);
      assert.equal((await postJson(url, "{}", {}, { timeoutMs: 1_000, allowPrivate: true })).status, 200);
      assert.equal(hits, 1);
    } finally {
      server.close();
    }
  });
});
