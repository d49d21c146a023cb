import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT_DIR } from "../../src/config.ts";
import type { TrainingJobState } from "../../src/jobs/index.ts";
import type { Platform } from "../../src/platform.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { signedInClient } from "../helpers/users.ts";
import { webhookReceiver } from "../helpers/webhook-receiver.ts";

// lead_scoring trains on generated data, so no dataset is needed; churn_telco reads a CSV from
// DATASETS_DIR, here an empty directory, so its job must fail naming the file
const SYNTHETIC = "lead_scoring";
const SHIPPED = "1.0.0";
const NEEDS_DATASET = "churn_telco";
const TRAINING_TIMEOUT_MS = 180_000;

describe("training jobs", () => {
  let modelsDir: string;
  let datasetsDir: string;
  let config: ReturnType<typeof isolatedConfig>;
  let platform: Platform;
  let admin: Awaited<ReturnType<typeof signedInClient>>["http"];
  let operator: Awaited<ReturnType<typeof signedInClient>>["http"];
  let analyst: Awaited<ReturnType<typeof signedInClient>>["http"];
  /** the churn_telco job queued behind the lead_scoring one */
  let failingJobId: string;
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
  const trainedNotice = (jobId: string) => eventually(async () => hooks.at("/trained").find((r) => r.body.data.job_id === jobId), 15_000, `model.trained of ${jobId}`);

  before(async () => {
    // a copy of one shipped model: the jobs write here, never under models/
    modelsDir = await mkdtemp(join(tmpdir(), "tidecast-training-models-"));
    await cp(join(ROOT_DIR, "models", SYNTHETIC), join(modelsDir, SYNTHETIC), { recursive: true });
    datasetsDir = await mkdtemp(join(tmpdir(), "tidecast-training-datasets-"));
    config = isolatedConfig({ MODELS_DIR: modelsDir, DATASETS_DIR: datasetsDir });
    platform = await startTestPlatform(config, { api: true, pipelines: ["webhooks"], jobs: true });
    admin = (await signedInClient(platform, "admin")).http;
    hooks = await webhookReceiver();
    assert.equal((await admin.post("/api/webhooks/configure", { url: hooks.url("/trained"), events: ["model.trained"] })).status, 201);
    operator = (await signedInClient(platform, "operator")).http;
    analyst = (await signedInClient(platform, "analyst")).http;
  });
  after(async () => {
    await platform?.close();
    await hooks?.close();
    if (config) await dropIsolated(config);
    for (const dir of [modelsDir, datasetsDir]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  const status = async (id: string): Promise<TrainingJobState> => {
    const res = await admin.get(`/api/v1/training/${id}`);
    assert.equal(res.status, 200, res.text);
    return res.body as TrainingJobState;
  };
  const finished = (id: string) =>
    eventually(async () => {
      const s = await status(id);
      return s.state === "completed" || s.state === "failed" ? s : undefined;
    }, TRAINING_TIMEOUT_MS, `training job ${id}`);
  const exists = (path: string) => stat(path).then(() => true, () => false);

  it("is for admins only", async () => {
    for (const who of [operator, analyst]) {
      const post = await who.post(`/api/v1/models/${SYNTHETIC}/train`, {});
      assert.equal(post.status, 403, post.text);
      assert.equal(post.body.code, "INSUFFICIENT_PERMISSIONS");
      const get = await who.get(`/api/v1/training/${randomUUID()}`);
      assert.equal(get.status, 403, get.text);
    }
    const counts = await platform.jobs!.queues.training.getJobCounts();
    assert.ok(Object.values(counts).every((n) => n === 0), `nothing queued: ${JSON.stringify(counts)}`);

    const board = await admin.get("/admin/queues/api/queues");
    assert.equal(board.status, 200, board.text);
    assert.ok(board.body.queues.some((q: { name: string }) => q.name === "training"), "bull-board lists the training queue");
  });

  it("refuses an unknown model, a malformed or existing version, and an unknown job", async () => {
    const unknown = await admin.post("/api/v1/models/no_such_model/train", {});
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.body.code, "MODEL_NOT_FOUND");

    const malformed = await admin.post(`/api/v1/models/${SYNTHETIC}/train`, { version: "latest" });
    assert.equal(malformed.status, 422, malformed.text);

    const shipped = await admin.post(`/api/v1/models/${SYNTHETIC}/train`, { version: SHIPPED });
    assert.equal(shipped.status, 409, shipped.text);
    assert.equal(shipped.body.code, "CONFLICT");
    assert.deepEqual(shipped.body.details, { model_id: SYNTHETIC, version: SHIPPED });

    const none = await admin.get(`/api/v1/training/${randomUUID()}`);
    assert.equal(none.status, 404, none.text);
    const counts = await platform.jobs!.queues.training.getJobCounts();
    assert.ok(Object.values(counts).every((n) => n === 0), `nothing queued: ${JSON.stringify(counts)}`);
  });

  it("trains a model in a child process, one job at a time, reporting rising progress, into a new version directory", async () => {
    const shippedCard = await readFile(join(modelsDir, SYNTHETIC, SHIPPED, "card.json"), "utf8");

    const queued = await admin.post(`/api/v1/models/${SYNTHETIC}/train`); // no body: the next patch version
    assert.equal(queued.status, 202, queued.text);
    const jobId = queued.body.job_id as string;
    assert.equal(queued.body.model_id, SYNTHETIC);
    assert.equal(queued.body.version, "1.0.1", "one patch above the newest version on disk");
    assert.equal(queued.body.status_url, `/api/v1/training/${jobId}`);
    assert.ok(["queued", "running"].includes(queued.body.state), queued.body.state);

    const duplicate = await admin.post(`/api/v1/models/${SYNTHETIC}/train`, { version: "2.0.0" });
    assert.equal(duplicate.status, 409, duplicate.text);
    assert.equal(duplicate.body.details.job_id, jobId);

    const other = await admin.post(`/api/v1/models/${NEEDS_DATASET}/train`, {});
    assert.equal(other.status, 202, other.text);
    failingJobId = other.body.job_id;

    const seen: { stage: string; percent: number }[] = [];
    let sawChild = false;
    let done: TrainingJobState | undefined;
    const deadline = Date.now() + TRAINING_TIMEOUT_MS;
    while (!done && Date.now() < deadline) {
      // the other job first: if this one is still running afterwards, it was running then too
      const otherState = (await status(failingJobId)).state;
      const s = await status(jobId);
      if (s.state === "running") assert.equal(otherState, "queued", "a second training job waits for the first");
      if (s.state === "running") sawChild ||= trainingChildRunning();
      if (seen.at(-1)?.percent !== s.progress.percent) seen.push({ stage: s.progress.stage, percent: s.progress.percent });
      if (s.state === "completed" || s.state === "failed") done = s;
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(done, "the job finished");
    // the trainer ran in a child of this process, so the API, imports and job locks kept their event loop
    assert.ok(sawChild, "a training child process ran while the job was training");
    assert.equal(done.state, "completed", done.error ?? "");

    const percents = seen.map((p) => p.percent);
    assert.deepEqual(percents, [...percents].sort((a, b) => a - b), `progress only rises: ${JSON.stringify(seen)}`);
    assert.ok(seen.some((p) => p.stage === "training" && p.percent > 0 && p.percent < 100), `progress seen mid-training: ${JSON.stringify(seen)}`);
    assert.deepEqual({ stage: done.progress.stage, percent: done.progress.percent }, { stage: "completed", percent: 100 });

    const dir = join(modelsDir, SYNTHETIC, "1.0.1");
    assert.ok(done.result);
    assert.equal(done.result.model_dir, dir);
    assert.equal(done.result.version, "1.0.1");
    assert.equal(done.result.trainer, `${SYNTHETIC} ${SHIPPED}`);
    assert.deepEqual((await readdir(dir)).sort(), ["card.json", "model.onnx", "parity.json"]);
    const card = JSON.parse(await readFile(join(dir, "card.json"), "utf8"));
    assert.equal(card.name, SYNTHETIC);
    assert.equal(card.version, "1.0.1");
    assert.deepEqual(card.metrics.validation, done.result.metrics);
    assert.ok(done.result.metrics["auc"]! > 0.5, `a model that ranks: AUC ${done.result.metrics["auc"]}`);
    assert.match(card.training.notes, /lead_scoring 1\.0\.0 recipe/);
    assert.equal(JSON.parse(await readFile(join(dir, "parity.json"), "utf8")).version, "1.0.1");
    const trained = await trainedNotice(jobId);
    assert.equal(trained.body.event, "model.trained");
    assert.deepEqual([trained.body.data.model, trained.body.data.version, trained.body.data.status], [SYNTHETIC, "1.0.1", "completed"]);
    assert.deepEqual(trained.body.data.metrics, done.result.metrics, "webhooks get the card's validation metrics");
    assert.equal(await readFile(join(modelsDir, SYNTHETIC, SHIPPED, "card.json"), "utf8"), shippedCard, "the shipped version is untouched");

    // not served until an admin activates it, which needs no restart
    assert.equal((await admin.get(`/api/v1/models/${SYNTHETIC}`)).body.version, SHIPPED);
    const activated = await admin.post(`/api/v1/models/${SYNTHETIC}/activate`, { version: "1.0.1" });
    assert.equal(activated.status, 200, activated.text);
    assert.equal(activated.body.previous_version, SHIPPED);
    assert.deepEqual(activated.body.metrics, card.metrics.validation);
    assert.equal((await admin.get(`/api/v1/models/${SYNTHETIC}`)).body.version, "1.0.1");
  });

  it("fails a job whose dataset is missing, with an error naming the file, and writes nothing", async () => {
    const failed = await finished(failingJobId);
    assert.equal(failed.state, "failed");
    assert.equal(failed.result, null);
    assert.ok(failed.error?.includes(datasetsDir), `the error names the file under DATASETS_DIR: ${failed.error}`);
    assert.match(failed.error!, /DatasetError: .+\.csv: file not found/);
    const notice = await trainedNotice(failingJobId);
    assert.equal(notice.body.data.status, "failed");
    assert.equal(notice.body.data.error, failed.error, "webhooks get the reason too");
    assert.equal(await exists(join(modelsDir, NEEDS_DATASET)), false, "no version directory left behind");

    // a failed job no longer blocks the model
    const again = await admin.post(`/api/v1/models/${NEEDS_DATASET}/train`, { version: "9.0.0" });
    assert.equal(again.status, 202, again.text);
    assert.equal((await finished(again.body.job_id)).state, "failed");
  });

  it("puts a running job back in the queue when the jobs process stops, leaving no directory behind", async () => {
    const res = await admin.post(`/api/v1/models/${SYNTHETIC}/train`, {});
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.version, "1.0.2", "one patch above the version trained before");
    const id = res.body.job_id as string;
    await eventually(async () => ((await status(id)).progress.stage === "training" ? true : undefined), TRAINING_TIMEOUT_MS, "training under way");
    // resolves once the job has settled, which waits for its child process to exit
    await platform.jobs!.workers!.stop();
    assert.equal((await status(id)).state, "queued", "back in the queue for the next jobs process");
    assert.equal(await exists(join(modelsDir, SYNTHETIC, "1.0.2")), false);
  });

  it("keeps serving the activated version after a restart", async () => {
    const restarted = await startTestPlatform(config, { api: true, pipelines: [], jobs: false });
    try {
      const viewer = (await signedInClient(restarted)).http;
      const res = await viewer.get(`/api/v1/models/${SYNTHETIC}/versions`);
      assert.equal(res.status, 200, res.text);
      const versions = Object.fromEntries(res.body.items.map((v: { version: string; active: boolean }) => [v.version, v.active]));
      assert.deepEqual(versions, { "1.0.1": true, [SHIPPED]: false });
    } finally {
      await restarted.close();
    }
  });
});

describe("seed 003's POST /api/model/train", () => {
  let modelsDir: string;
  let config: ReturnType<typeof isolatedConfig>;
  let platform: Platform;

  before(async () => {
    modelsDir = await mkdtemp(join(tmpdir(), "tidecast-training-models-"));
    await cp(join(ROOT_DIR, "models", "churn_subscription"), join(modelsDir, "churn_subscription"), { recursive: true });
    config = isolatedConfig({ MODELS_DIR: modelsDir });
    // no jobs role: the job is queued and stays queued, so the test sees the queue alone
    platform = await startTestPlatform(config, { api: true, pipelines: [], jobs: false });
  });
  after(async () => {
    await platform?.close();
    await dropIsolated(config);
    await rm(modelsDir, { recursive: true, force: true });
  });

  it("queues churn_subscription's next version for admins, once at a time", async () => {
    const operator = (await signedInClient(platform, "operator")).http;
    assert.equal((await operator.post("/api/model/train")).status, 403);
    const admin = (await signedInClient(platform, "admin")).http;
    const queued = await admin.post("/api/model/train");
    assert.equal(queued.status, 202, queued.text);
    assert.equal(queued.body.success, true);
    const job = queued.body.data as TrainingJobState & { message: string };
    assert.deepEqual([job.model_id, job.version, job.state], ["churn_subscription", "1.0.1", "queued"]);
    assert.equal((await admin.get(job.status_url)).body.job_id, job.job_id);
    const again = await admin.post("/api/model/train");
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.details.job_id, job.job_id);
  });
});

/** True when a child of this process is running the training child script (Linux /proc). */
function trainingChildRunning(): boolean {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("training-child")) return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}
