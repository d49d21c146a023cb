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

    assert.equal((await admin.post("/api/admin/models/activate", { model_name: "churn_telco", version: "1.5.0", ab_percentage: 50 })).status, 422, "no A/B splits");
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

  it("keeps the activated version across a restart, though a newer one is on disk", async () => {
    await b.close();
    // a version directory that cannot load stops a start (a bad deploy), unlike an activation
    await rm(join(dir, "churn_telco", "1.4.0"), { recursive: true });
    b = await startTestPlatform(config, { api: false, pipelines: ["scorer"] });
    assert.equal(activeIn(b), "1.2.0");
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
