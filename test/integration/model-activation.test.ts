import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT_DIR } from "../../src/config.ts";
import { splitBucket } from "../../src/models/index.ts";
import type { Platform } from "../../src/platform.ts";
import { client, dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";

const SHIPPED = join(ROOT_DIR, "models", "churn_telco");
const ROW = { tenure: 3, monthly_charges: 89.5, contract_type: "Month-to-month" };

/** A copy of a shipped version under another version number, its card changed by `edit`. */
async function writeVersion(dir: string, from: string, version: string, edit: (card: Record<string, unknown>) => void): Promise<void> {
  const target = join(dir, "churn_telco", version);
  await cp(join(SHIPPED, from), target, { recursive: true });
  const card = JSON.parse(await readFile(join(target, "card.json"), "utf8"));
  card.version = version;
  edit(card);
  await writeFile(join(target, "card.json"), JSON.stringify(card));
}

describe("activating a model version", () => {
  let dir: string;
  let config: ReturnType<typeof isolatedConfig>;
  let a: Platform;
  let b: Platform;
  let admin: ReturnType<typeof client>;
  let adminId: number;
  let user: ReturnType<typeof client>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tidecast-models-"));
    for (const version of ["1.0.0", "1.1.0"]) await cp(join(SHIPPED, version), join(dir, "churn_telco", version), { recursive: true });
    config = isolatedConfig({ MODELS_DIR: dir });
    // two processes of one install (same schema and subjects): the API, and the scorer that answers it
    a = await startTestPlatform(config, { api: true, pipelines: [] });
    b = await startTestPlatform(config, { api: false, pipelines: ["scorer"] });
    ({ http: admin, userId: adminId } = await signedInClient(a, "admin"));
    user = (await signedInClient(a)).http;
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await dropIsolated(config);
    await rm(dir, { recursive: true, force: true });
  });

  /** the version the scorer process scored the seed churn route's request with */
  const scoredWith = async (): Promise<string> => {
    const res = await admin.post("/api/predict/churn", ROW);
    assert.equal(res.status, 200, res.text);
    return res.body.model_version;
  };
  const activeIn = (platform: Platform) => platform.registry.get("churn_telco").version;
  const scorerServes = (version: string) =>
    eventually(async () => ((await scoredWith()) === version ? true : undefined), 5_000, `the scorer process to serve ${version}`);

  it("serves the newest version until an admin activates another, on every node, and records it in Postgres", async () => {
    assert.equal(await scoredWith(), "1.1.0");
    assert.equal((await user.post("/api/v1/models/churn_telco/activate", { version: "1.0.0" })).status, 403);
    // the scorer explains every prediction, so it builds a version's explainer as it becomes active
    const target = b.registry.listVersions("churn_telco").find((v) => v.version === "1.0.0")!;
    const explain = target.explain!;
    let explained = 0;
    target.explain = (flat, offset) => {
      explained++;
      return explain(flat, offset);
    };

    const res = await admin.post("/api/v1/models/churn_telco/activate", { version: "v1.0.0" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.version, "1.0.0");
    assert.equal(res.body.active, true);
    assert.equal(res.body.previous_version, "1.1.0");
    assert.equal(activeIn(a), "1.0.0");
    await eventually(async () => (activeIn(b) === "1.0.0" ? true : undefined), 5_000, "the scorer process to adopt 1.0.0");
    await eventually(async () => (explained > 0 ? true : undefined), 2_000, "its explainer built before any request");
    await scorerServes("1.0.0");

    const rows = await a.db("model_versions").join("models", "models.id", "model_versions.model_id").where({ name: "churn_telco" }).select("version", "is_active");
    assert.deepEqual(rows.filter((r) => r.is_active).map((r) => r.version), ["1.0.0"]);
    const listed = await admin.get("/api/v1/models/churn_telco/versions");
    assert.deepEqual(listed.body.items.filter((v: { active: boolean }) => v.active).map((v: { version: string }) => v.version), ["1.0.0"]);
    // who switched it and when; the version the platform activated at first start has no author
    const byVersion = Object.fromEntries(listed.body.items.map((v: { version: string }) => [v.version, v]));
    const { username } = await a.db("users").where({ id: adminId }).first("username");
    assert.equal(byVersion["1.0.0"].activated_by, username);
    assert.ok(Date.now() - Date.parse(byVersion["1.0.0"].activated_at) < 60_000, byVersion["1.0.0"].activated_at);
    assert.equal(byVersion["1.1.0"].activated_by, null);
    assert.ok(byVersion["1.1.0"].activated_at);
  });

  it("loads a version written after start, on every node", async () => {
    await cp(join(SHIPPED, "1.2.0"), join(dir, "churn_telco", "1.2.0"), { recursive: true });
    const res = await admin.post("/api/v1/models/churn_telco/activate", { version: "1.2.0" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.previous_version, "1.0.0");
    assert.equal(activeIn(a), "1.2.0");
    await scorerServes("1.2.0");
  });

  it("refuses a version whose input contract differs, a version that cannot load, and an unknown one, and keeps serving", async () => {
    await writeVersion(dir, "1.1.0", "1.3.0", (card) => {
      const features = card.features as { name: string; required: boolean }[];
      features.find((f) => f.name === "payment_method")!.required = true;
    });
    const changed = await admin.post("/api/v1/models/churn_telco/activate", { version: "1.3.0" });
    assert.equal(changed.status, 409, changed.text);
    assert.equal(changed.body.code, "CONFLICT");
    assert.deepEqual(changed.body.details.changes, ["payment_method: now required"]);

    await writeVersion(dir, "1.1.0", "1.4.0", (card) => {
      card.name = "churn_other";
    });
    const broken = await admin.post("/api/v1/models/churn_telco/activate", { version: "1.4.0" });
    assert.equal(broken.status, 409, broken.text);
    assert.match(broken.body.message, /1\.4\.0 cannot be loaded: .*card says churn_other@1\.4\.0/);

    assert.equal((await admin.post("/api/v1/models/churn_telco/activate", { version: "9.9.9" })).status, 404);
    assert.equal((await admin.post("/api/v1/models/no_such_model/activate", { version: "1.0.0" })).status, 404);
    const bad = await admin.post("/api/v1/models/churn_telco/activate", { version: "../1.0.0" });
    assert.equal(bad.status, 422);
    assert.deepEqual(Object.keys(bad.body.details), ["version"]);
    assert.equal(activeIn(a), "1.2.0");
    assert.equal(await scoredWith(), "1.2.0");
  });

  it("lists, registers, activates and rolls back through seed 004's admin routes", async () => {
    const list = await admin.get("/api/admin/models/list/churn_telco");
    assert.equal(list.status, 200, list.text);
    const listed = list.body.versions as Array<{ version: string; is_active: boolean; ab_test_percentage: number; performance_score: number }>;
    assert.deepEqual(listed.filter((v) => v.is_active).map((v) => [v.version, v.ab_test_percentage]), [["1.2.0", 100]]);
    assert.equal(listed.find((v) => v.version === "1.1.0")!.performance_score, a.registry.getVersion("churn_telco", "1.1.0").card.metrics.validation.auc);

    await writeVersion(dir, "1.1.0", "1.5.0", () => {});
    assert.equal((await user.post("/api/admin/models/register", { model_name: "churn_telco", version: "1.5.0" })).status, 403);
    const outside = await admin.post("/api/admin/models/register", { model_name: "churn_telco", version: "1.5.0", model_path: "/etc" });
    assert.equal(outside.status, 422, outside.text);
    assert.equal((await admin.post("/api/admin/models/register", { model_name: "churn_telco", version: "9.9.9" })).status, 404);
    const registered = await admin.post("/api/admin/models/register", { model_name: "churn_telco", version: "v1.5.0", model_path: join(dir, "churn_telco", "1.5.0") });
    assert.equal(registered.status, 201, registered.text);
    const row = await a.db("model_versions").join("models", "models.id", "model_versions.model_id").where({ "models.name": "churn_telco", "model_versions.version": "1.5.0" }).first("model_versions.is_active");
    assert.equal(row.is_active, false, "recorded, not served");
    assert.equal(activeIn(a), "1.2.0");

    const activated = await admin.post("/api/admin/models/activate", { model_name: "churn_telco", version: "v1.5.0", ab_percentage: 100 });
    assert.equal(activated.status, 200, activated.text);
    assert.deepEqual([activated.body.message, activated.body.previous_version], ["Model activated", "1.2.0"]);
    await scorerServes("1.5.0");

    const rolledBack = await admin.post("/api/admin/models/rollback?model_name=churn_telco&version=v1.2.0");
    assert.equal(rolledBack.status, 200, rolledBack.text);
    assert.equal(rolledBack.body.message, "Rolled back to 1.2.0");
    await scorerServes("1.2.0");
    assert.equal((await admin.post("/api/admin/models/rollback?model_name=churn_telco")).status, 422);
  });

  it("splits a model's predictions between two versions in an A/B test, on every process, until it is stopped", async () => {
    const test = (body: Record<string, unknown>) => admin.post("/api/admin/models/ab-test", { model_name: "churn_telco", ...body });
    assert.equal((await user.post("/api/admin/models/ab-test", { model_name: "churn_telco", version_a: "1.2.0", version_b: "1.1.0", split: 30 })).status, 403);
    assert.equal((await test({ version_a: "1.2.0", version_b: "1.2.0", split: 30 })).status, 409, "two different versions");
    assert.equal((await test({ version_a: "1.2.0", version_b: "1.3.0", split: 30 })).status, 409, "1.3.0 takes other input");
    for (const split of [0, 100, 12.5]) assert.equal((await test({ version_a: "1.2.0", version_b: "1.1.0", split })).status, 422, `split ${split}`);
    assert.equal((await test({ version_a: "1.2.0", version_b: "9.9.9", split: 30 })).status, 404);
    assert.equal((await admin.get("/api/admin/models/ab-test/churn_telco")).status, 404, "no test yet");

    const started = await test({ version_a: "v1.2.0", version_b: "v1.1.0", split: 30 });
    assert.equal(started.status, 200, started.text);
    assert.deepEqual([started.body.message, started.body.version_a, started.body.version_b, started.body.split, started.body.status], ["A/B test started", "1.2.0", "1.1.0", 30, "running"]);
    await eventually(async () => (b.registry.challengerOf("churn_telco")?.model.version === "1.1.0" ? true : undefined), 5_000, "the scorer process to adopt the test");
    const listed = (await admin.get("/api/admin/models/list/churn_telco")).body.versions as Array<{ version: string; ab_test_percentage: number }>;
    assert.deepEqual(listed.filter((v) => v.ab_test_percentage > 0).map((v) => [v.version, v.ab_test_percentage]), [["1.2.0", 70], ["1.1.0", 30]]);

    // each prediction's version follows from its id, so the scorer process's choice is checked one by one
    const batch = await admin.post("/api/v1/batch-predict", { model_id: "churn_telco", instances: Array.from({ length: 300 }, (_, i) => ({ ...ROW, tenure: 1 + (i % 70) })) });
    assert.equal(batch.status, 200, batch.text);
    const items = batch.body.items as Array<{ prediction_id: string; model_version: string; score: number; status: string }>;
    assert.ok(items.every((item) => item.status === "completed"));
    for (const item of items) assert.equal(item.model_version, splitBucket(item.prediction_id) < 30 ? "1.1.0" : "1.2.0", item.prediction_id);
    const onB = items.filter((item) => item.model_version === "1.1.0");
    // 300 draws of 30 %: 90 expected, sd 7.9
    assert.ok(onB.length > 60 && onB.length < 120, `${onB.length} of 300 on version B`);

    const read = await admin.get("/api/admin/models/ab-test/churn_telco");
    assert.equal(read.status, 200, read.text);
    const [armA, armB] = read.body.results.versions as Array<{ arm: string; version: string; predictions: number; mean_score: number; expected_share: number; observed_share: number }>;
    assert.equal(read.body.results.total_predictions, 300);
    assert.deepEqual([armA!.arm, armA!.version, armA!.predictions, armA!.expected_share], ["A", "1.2.0", 300 - onB.length, 0.7]);
    assert.deepEqual([armB!.arm, armB!.version, armB!.predictions, armB!.expected_share], ["B", "1.1.0", onB.length, 0.3]);
    assert.equal(armB!.observed_share, Math.round((onB.length / 300) * 1e6) / 1e6);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(armB!.mean_score - mean(onB.map((i) => i.score))) < 1e-5, "version B's mean score, from the stored rows");

    // seed 004's activate with a share under 100 starts a new test against the active version; the first ends
    const viaActivate = await admin.post("/api/admin/models/activate", { model_name: "churn_telco", version: "1.5.0", ab_percentage: 50 });
    assert.equal(viaActivate.status, 200, viaActivate.text);
    assert.deepEqual([viaActivate.body.version_a, viaActivate.body.version_b, viaActivate.body.split], ["1.2.0", "1.5.0", 50]);
    const ended = await a.db("model_ab_tests").where({ version_b: "1.1.0" }).first();
    assert.deepEqual([ended.status, ended.end_reason], ["ended", "a new A/B test started"]);
    await eventually(async () => (b.registry.challengerOf("churn_telco")?.model.version === "1.5.0" ? true : undefined), 5_000, "the new test");

    const stopped = await admin.delete("/api/admin/models/ab-test/churn_telco");
    assert.equal(stopped.status, 200, stopped.text);
    assert.deepEqual([stopped.body.message, stopped.body.status, stopped.body.end_reason], ["A/B test stopped", "ended", "stopped"]);
    await eventually(async () => (b.registry.challengerOf("churn_telco") === undefined ? true : undefined), 5_000, "the scorer process to end the test");
    assert.equal((await admin.delete("/api/admin/models/ab-test/churn_telco")).status, 409, "none running");
    const after = await admin.post("/api/v1/batch-predict", { model_id: "churn_telco", instances: Array.from({ length: 20 }, () => ROW) });
    assert.ok((after.body.items as Array<{ model_version: string }>).every((item) => item.model_version === "1.2.0"), "all on the active version again");

    // activating a version ends a running test too
    assert.equal((await test({ version_a: "1.2.0", version_b: "1.1.0", split: 10 })).status, 200);
    assert.equal((await admin.post("/api/v1/models/churn_telco/activate", { version: "1.2.0" })).status, 200);
    const latest = (await admin.get("/api/admin/models/ab-test/churn_telco")).body;
    assert.deepEqual([latest.version_b, latest.status, latest.end_reason], ["1.1.0", "ended", "version 1.2.0 activated"]);
    await eventually(async () => (b.registry.challengerOf("churn_telco") === undefined ? true : undefined), 5_000, "the activation to end the test on the scorer");
  });

  it("keeps the activated version, and a running A/B test, across a restart, though a newer version is on disk", async () => {
    assert.equal((await admin.post("/api/admin/models/ab-test", { model_name: "churn_telco", version_a: "1.2.0", version_b: "1.1.0", split: 20 })).status, 200);
    await b.close();
    // a version directory that cannot load stops a start (a bad deploy), unlike an activation
    await rm(join(dir, "churn_telco", "1.4.0"), { recursive: true });
    b = await startTestPlatform(config, { api: false, pipelines: ["scorer"] });
    assert.equal(activeIn(b), "1.2.0");
    const challenger = b.registry.challengerOf("churn_telco");
    assert.deepEqual([challenger?.model.version, challenger?.percent], ["1.1.0", 20]);
    assert.equal((await admin.delete("/api/admin/models/ab-test/churn_telco")).status, 200);
    await eventually(async () => (b.registry.challengerOf("churn_telco") === undefined ? true : undefined), 5_000, "the test to end");
    assert.equal(await scoredWith(), "1.2.0");
  });
});

const NATS_SERVER = "/usr/sbin/nats-server";

/** A NATS server of this test's own, which it can stop and start again on the same port and store. */
async function privateNats(storeDir: string) {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(NATS_SERVER, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir], { stdio: "ignore" });
    await eventually(
      () =>
        new Promise<true | undefined>((resolve) => {
          const socket = connect(port, "127.0.0.1");
          socket.on("connect", () => {
            socket.destroy();
            resolve(true);
          });
          socket.on("error", () => resolve(undefined));
        }),
      10_000,
      "nats-server to listen",
    );
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  };
  await start();
  return { url: `nats://127.0.0.1:${port}`, start, stop };
}

describe("a process that missed an activation", { skip: existsSync(NATS_SERVER) ? false : `no ${NATS_SERVER}` }, () => {
  it("adopts the active version from Postgres when NATS comes back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tidecast-models-"));
    const store = await mkdtemp(join(tmpdir(), "tidecast-nats-"));
    for (const version of ["1.0.0", "1.1.0"]) await cp(join(SHIPPED, version), join(dir, "churn_telco", version), { recursive: true });
    const nats = await privateNats(store);
    const config = isolatedConfig({ MODELS_DIR: dir, NATS_URL: nats.url });
    const platform = await startTestPlatform(config, { api: true, pipelines: [] });
    try {
      assert.equal(platform.registry.get("churn_telco").version, "1.1.0");
      await nats.stop();
      // what another node's activation stores while this one cannot hear its announcement
      const model = await platform.db("models").where({ name: "churn_telco" }).first("id");
      await platform.db.transaction(async (trx) => {
        await trx("model_versions").where({ model_id: model.id }).update({ is_active: false });
        await trx("model_versions").where({ model_id: model.id, version: "1.0.0" }).update({ is_active: true });
      });
      await nats.start();
      await eventually(async () => (platform.registry.get("churn_telco").version === "1.0.0" ? true : undefined), 15_000, "adoption after the reconnect");
    } finally {
      await platform.close();
      await dropIsolated(config);
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
      await rm(store, { recursive: true, force: true });
    }
  });
});
