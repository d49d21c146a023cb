import assert from "node:assert/strict";
import { once } from "node:events";
import { createWriteStream, openAsBlob } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { after, before, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { connect } from "@nats-io/transport-node";
import type { Config } from "../../src/config.ts";
import { createDb } from "../../src/db/knex.ts";
import { uploadsBucket } from "../../src/ingest/index.ts";
import { createQueues, type Queues } from "../../src/jobs/index.ts";
import type { Platform } from "../../src/platform.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { startChild } from "../helpers/child.ts";
import { creditsOf, signedInClient } from "../helpers/users.ts";

// rows 1, 2, 5 and 8 are valid; 3 (industry_score out of its 1-10 range), 4 (unknown company size),
// 6 (budget not a number) and 7 (a field short) are rejected; row 5 lacks the optional
// engagement_score and has a budget above the training range (clipped: an outlier)
// The large-file case: 10,000 rows by default so the suite stays quick on a shared machine;
// IMPORT_TEST_ROWS=100000 runs the 100k-row file (see src/ingest/README.md for measured figures).
const BIG_ROWS = Number(process.env.IMPORT_TEST_ROWS ?? 10_000);

const LEADS = [
  "company_size,budget,industry_score,engagement_score,notes",
  "51-200,150000,8.5,7.2,first",
  "11-50,75000,6.8,5.9,second",
  "11-50,75000,12,5.9,third",
  "huge,75000,5,5,fourth",
  "1-10,9000000,5,,fifth",
  "201-1000,abc,5,5,sixth",
  "1-10,1000,5",
  "1000+,20000,3,4,eighth",
].join("\n");

describe("CSV imports", () => {
  const config = isolatedConfig({ UPLOAD_SYNC_WAIT_MS: "20000" });
  let platform: Platform;
  let user: Awaited<ReturnType<typeof signedInClient>>;
  let workDir: string;

  before(async () => {
    platform = await startTestPlatform(config, { api: true, pipelines: ["scorer"], jobs: true });
    user = await signedInClient(platform);
    workDir = await mkdtemp(join(tmpdir(), "tidecast-imports-"));
  });
  after(async () => {
    await platform?.close();
    await dropAll(config);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const upload = async (path: string, file: Blob | null, fields: Record<string, string> = {}, fileName = "data.csv", as = user) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    if (file) form.append("file", file, fileName);
    const res = await fetch(platform.url + path, { method: "POST", headers: { "X-API-Key": as.apiKey }, body: form });
    const text = await res.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, text, body: JSON.parse(text) as any };
  };
  const csv = (text: string) => new Blob([text], { type: "text/csv" });
  const count = async (q: ReturnType<Platform["db"]>) => Number((await q.count({ n: "*" }).first())!.n);
  const streamMessages = async (stream: string) => (await platform.bus.jsm.streams.info(stream)).state.messages;
  const storedUploads = async () => (await (await new Objm(platform.bus.js).open(uploadsBucket(config.STREAM_PREFIX))).list()).filter((o) => !o.deleted);
  const waitDone = (id: string, timeoutMs = 30_000, as = user) =>
    eventually(
      async () => {
        const res = await as.http.get(`/api/v1/imports/${id}`);
        return res.body.status === "completed" || res.body.status === "failed" ? res.body : undefined;
      },
      timeoutMs,
      `import ${id}`,
    );
  /** Uploads `file` to /api/v1/imports for `target` as `as`, and waits for the import to complete. */
  const importCompleted = async (file: string, target: string, fileName: string, as: typeof user) => {
    const res = await upload("/api/v1/imports", csv(file), { target }, fileName, as);
    assert.equal(res.status, 202, res.text);
    const done = await waitDone(res.body.import_id, 30_000, as);
    assert.equal(done.status, "completed", done.error);
    return done;
  };

  it("scores a seed upload row by row and answers with the predictions and the data-quality report", async () => {
    const res = await upload("/api/upload/csv/lead-scoring", csv(LEADS));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.message, "File processed successfully");
    assert.deepEqual(res.body.results.map((r: { row: number }) => r.row), [1, 2, 5, 8]);
    assert.ok(res.body.results.every((r: { prediction: { score: number } }) => r.prediction.score > 0 && r.prediction.score < 1));
    assert.deepEqual({ ...res.body.summary, processing_time: 0 }, { total_rows: 8, processed_rows: 4, failed_rows: 4, success_rate: 50, processing_time: 0 });
    assert.equal(res.body.credits_consumed, 4);
    assert.match(res.body.file_id, /^[0-9a-f]{64}$/);

    const q = res.body.data_quality;
    assert.deepEqual(q.rows, { total: 8, valid: 4, rejected: 4 });
    assert.equal(q.missing_values, 1);
    assert.equal(q.invalid_formats, 4, "three bad cells and one short row");
    assert.equal(q.outliers, 1);
    // 8 rows × 4 checked columns; unclean: 1 missing + 3 invalid + 1 outlier + the short row's 4
    assert.deepEqual(q.cells, { checked: 32, clean: 23 });
    assert.equal(q.quality_score, 71.9);
    assert.deepEqual(q.ignored_columns, ["notes"]);
    assert.deepEqual(q.columns.budget, { missing: 0, invalid: 1, outliers: 1 });
    assert.deepEqual(
      q.examples.invalid.map((e: { row: number; column: string }) => [e.row, e.column]),
      [[3, "industry_score"], [4, "company_size"], [6, "budget"], [7, "$row"]],
    );
    assert.equal(q.examples.outliers[0].row, 5);
    assert.match(q.examples.outliers[0].reason, /training range/);

    const rows = await platform.db("predictions").where({ user_id: user.userId }).orderBy("message_id");
    assert.equal(rows.length, 4);
    assert.ok(rows.every((r) => r.source === "csv" && r.status === "completed" && r.model === "lead_scoring"));
    assert.deepEqual(rows.map((r) => r.message_id.split(":")[1]).sort(), ["1", "2", "5", "8"]);
    assert.equal(rows.find((r) => r.message_id.endsWith(":5")).input.budget, 9000000);

    const status = await user.http.get(res.body.status_url);
    assert.equal(status.status, 200);
    assert.equal(status.body.status, "completed");
    assert.equal(status.body.target, "predict:lead_scoring");
    assert.deepEqual(status.body.progress, { percent: 100, rows_read: 8, rows_published: 4, rows_rejected: 4 });
    assert.deepEqual(status.body.report, q);
    assert.equal((await storedUploads()).length, 0, "an imported file's bytes are removed");
  });

  it("imports nothing twice when the same file is uploaded again", async () => {
    const before = await streamMessages(platform.bus.names.predict);
    const credits = await creditsOf(platform, user.userId);
    const res = await upload("/api/upload/csv/lead-scoring", csv(LEADS), {}, "renamed.csv");
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.credits_consumed, 0);
    assert.equal(res.body.results.length, 4);
    const generic = await upload("/api/v1/imports", csv(LEADS), { target: "predict:lead_scoring" });
    assert.equal(generic.status, 202, generic.text);
    assert.equal(generic.body.already_imported, true);
    assert.equal(generic.body.import_id, res.body.import_id);

    assert.equal(await streamMessages(platform.bus.names.predict), before, "no message published again");
    assert.equal(await count(platform.db("predictions").where({ user_id: user.userId })), 4);
    assert.equal(await count(platform.db("imports")), 1);
    assert.equal(await creditsOf(platform, user.userId), credits);
    assert.equal((await storedUploads()).length, 0, "the second copy was not kept");
  });

  it("publishes events from a CSV through the generic endpoint, with keys, ids and running-σ outliers", async () => {
    const lines = ["key,type,timestamp,monthly_charges,contract_type"];
    for (let i = 1; i <= 40; i++) lines.push(`c-${i},billing,2026-11-23T10:00:00Z,${50 + (i % 5)},Month-to-month`);
    lines.push("c-41,billing,2026-11-23T10:00:00Z,5000,Month-to-month"); // row 41: far outside 50-54
    lines.push("bad key,billing,2026-11-23T10:00:00Z,51,Month-to-month"); // row 42: not a subject token
    lines.push("c-43,billing,yesterday,51,Two year"); // row 43: not a timestamp
    lines.push("c-44,,,,Two year"); // row 44: defaults for type and timestamp, no charges
    const res = await upload("/api/v1/imports", csv(lines.join("\n")), { target: "events:customer" }, "customers.csv");
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.already_imported, false);
    assert.equal(res.body.status_url, `/api/v1/imports/${res.body.import_id}`);
    const done = await waitDone(res.body.import_id);
    assert.equal(done.status, "completed", done.error);
    assert.deepEqual(done.report.rows, { total: 44, valid: 42, rejected: 2 });
    assert.equal(done.report.outliers, 1);
    assert.equal(done.report.examples.outliers[0].row, 41);
    assert.deepEqual(done.report.columns.type, { missing: 1, invalid: 0, outliers: 0 });
    assert.equal(done.report.missing_values, 3);

    const stream = platform.bus.names.events("customer");
    assert.equal(await streamMessages(stream), 42);
    const first = (await platform.bus.jsm.streams.getMessage(stream, { seq: 1 }))!;
    assert.equal(first.subject, platform.bus.names.eventSubject("customer", "c-1"));
    assert.equal(first.header.get("Nats-Msg-Id"), `${res.body.import_id}:1`);
    const body = first.json<{ id: string; type: string; data: Record<string, unknown> }>();
    assert.deepEqual(body.data, { monthly_charges: 51, contract_type: "Month-to-month" });
    const last = (await platform.bus.jsm.streams.getMessage(stream, { seq: 42 }))!.json<{ type: string; timestamp: string; data: object }>();
    assert.equal(last.type, "import");
    assert.equal(last.timestamp, done.created_at);
    assert.deepEqual(last.data, { contract_type: "Two year" });
  });

  it("scores a model's dataset rows as they are: the file's own header, blank cells, ignored columns", async () => {
    const other = await signedInClient(platform);
    const file = "customerID,tenure,MonthlyCharges,Contract,TotalCharges,Churn\nc-1,3,89.5,Month-to-month, ,Yes\nc-2,60,30,Two year,1800,No\n";
    const done = await importCompleted(file, "predict:churn_telco", "telco.csv", other);
    assert.deepEqual(done.report.rows, { total: 2, valid: 2, rejected: 0 });
    assert.deepEqual(done.report.ignored_columns, ["customerID", "Churn"]);
    assert.deepEqual(done.report.columns.contract_type, { missing: 0, invalid: 0, outliers: 0 });
    assert.deepEqual(done.report.columns.total_charges, { missing: 1, invalid: 0, outliers: 0 });
    const rows = await eventually(async () => {
      const r = await platform.db("predictions").where({ user_id: other.userId, status: "completed" }).orderBy("message_id");
      return r.length === 2 ? r : undefined;
    }, 10_000, "both rows scored");
    assert.deepEqual(rows.map((r) => r.input.contract_type), ["Month-to-month", "Two year"], "published under the feature's name");
    assert.ok(rows[0].score > rows[1].score, "the new month-to-month customer is the likelier to churn");
  });

  it("reads a semicolon-separated dataset file, as bank-marketing's is", async () => {
    const other = await signedInClient(platform);
    const header = '"age";"job";"marital";"education";"default";"housing";"loan";"contact";"month";"day_of_week";"duration";"campaign";"pdays";"previous";"poutcome";"emp.var.rate";"cons.price.idx";"cons.conf.idx";"euribor3m";"nr.employed";"y"';
    const file = `${header}\n56;"housemaid";"married";"basic.4y";"no";"no";"no";"telephone";"may";"mon";261;1;999;0;"nonexistent";1.1;93.994;-36.4;4.857;5191;"no"\n`;
    const done = await importCompleted(file, "predict:lead_conversion", "bank.csv", other);
    assert.deepEqual(done.report.rows, { total: 1, valid: 1, rejected: 0 });
    assert.deepEqual(done.report.ignored_columns, ["duration", "y"]);
    assert.deepEqual(done.report.columns.emp_var_rate, { missing: 0, invalid: 0, outliers: 0 });
  });

  it("refuses what is not a CSV for its target with a clear 4xx, keeping nothing", async () => {
    const imports = await count(platform.db("imports"));
    const noFile = await upload("/api/v1/imports", null, { target: "events:customer" });
    assert.equal(noFile.status, 400, noFile.text);
    assert.match(noFile.body.message, /field named "file"/);

    const json = await user.http.post("/api/upload/csv/lead-scoring", { rows: [] });
    assert.equal(json.status, 415);
    assert.equal(json.body.code, "UNSUPPORTED_MEDIA_TYPE");

    const binary = await upload("/api/upload/csv/lead-scoring", new Blob([new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 1, 2])]), {}, "book.xlsx");
    assert.equal(binary.status, 415, binary.text);
    assert.match(binary.body.message, /binary/);

    const headerless = await upload("/api/upload/csv/lead-scoring", csv("51-200,150000,8.5,7.2\n11-50,75000,6.8,5.9\n"));
    assert.equal(headerless.status, 422, headerless.text);
    assert.deepEqual(headerless.body.details.missing_columns, ["company_size", "budget", "industry_score"]);

    const empty = await upload("/api/upload/csv/churn-prediction", csv(""));
    assert.equal(empty.status, 422, empty.text);
    assert.match(empty.body.message, /empty/);

    const target = await upload("/api/v1/imports", csv("key\nc-1\n"), { target: "events:weather" });
    assert.equal(target.status, 422, target.text);
    const model = await upload("/api/v1/imports", csv("key\nc-1\n"), { target: "predict:no_such_model" });
    assert.equal(model.status, 404, model.text);
    assert.equal(model.body.code, "MODEL_NOT_FOUND");
    const keyless = await upload("/api/v1/imports", csv("name\nc-1\n"), { target: "events:lead" });
    assert.equal(keyless.status, 422, keyless.text);
    assert.match(keyless.body.message, /"key" column/);

    const anonymous = await fetch(platform.url + "/api/v1/imports", { method: "POST", body: new FormData() });
    assert.equal(anonymous.status, 401);
    const doc = (await user.http.get("/openapi.json")).body;
    assert.ok(doc.paths["/api/v1/imports"].post.requestBody.content["multipart/form-data"], "uploads are documented");
    assert.ok(doc.paths["/api/upload/csv/churn-prediction"].post.responses["413"]);
    assert.ok(doc.paths["/api/v1/imports/{import_id}"].get);

    assert.equal((await storedUploads()).length, 0);
    assert.equal(await count(platform.db("imports")), imports, "no import was recorded");
  });

  it("answers 413 to a file over 16 MiB, whether its length is declared or streamed, and keeps nothing", async () => {
    const big = new Uint8Array(16 * 1024 * 1024 + 1).fill(0x41);
    const declared = await upload("/api/v1/imports", csv(new TextDecoder().decode(big)), { target: "events:customer" });
    assert.equal(declared.status, 413, declared.text);
    assert.equal(declared.body.code, "PAYLOAD_TOO_LARGE");

    // a chunked body: no Content-Length, so the limit is found while the file streams in
    const boundary = "tidecast-test-boundary";
    const head = new TextEncoder().encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\nkey\n`);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(head);
        for (let i = 0; i < 17; i++) controller.enqueue(new Uint8Array(1024 * 1024).fill(0x61));
        controller.enqueue(new TextEncoder().encode(`\r\n--${boundary}--\r\n`));
        controller.close();
      },
    });
    const streamed = await fetch(platform.url + "/api/upload/csv/churn-prediction", {
      method: "POST",
      headers: { "X-API-Key": user.apiKey, "Content-Type": `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: "half",
    } as RequestInit);
    assert.equal(streamed.status, 413, await streamed.clone().text());
    assert.equal(((await streamed.json()) as { code: string }).code, "PAYLOAD_TOO_LARGE");
    assert.equal((await storedUploads()).length, 0);
  });

  it("fails an import whose file breaks mid-way, naming the line, and tries it again when it is uploaded again", async () => {
    const broken = csv(`${LEADS}\n1-10,"5000,5,5,unclosed\n1-10,5000,5,5,x\n`);
    const before = await streamMessages(platform.bus.names.predict);
    const res = await upload("/api/upload/csv/lead-scoring", broken);
    assert.equal(res.status, 422, res.text);
    assert.match(res.body.message, /The import failed: line \d+: .*[Qq]uote/);
    const status = await user.http.get(res.body.details.status_url);
    assert.equal(status.body.status, "failed");
    assert.equal(status.body.progress.rows_published, 0, "a file that is not CSV to its end publishes nothing");
    assert.equal(await streamMessages(platform.bus.names.predict), before);

    const again = await upload("/api/v1/imports", broken, { target: "predict:lead_scoring" });
    assert.equal(again.status, 202, again.text);
    assert.equal(again.body.already_imported, false, "a failed import starts over");
    assert.equal(again.body.import_id, status.body.import_id);
    assert.equal((await waitDone(again.body.import_id)).status, "failed");
    assert.equal((await storedUploads()).length, 1, "a failed import keeps its file (until the bucket's TTL) for a retry");
  });

  it(`streams a ${BIG_ROWS}-row file through without holding it in memory`, { timeout: 240_000 }, async () => {
    const file = join(workDir, "leads-big.csv");
    const out = createWriteStream(file);
    out.write("company_size,budget,industry_score,engagement_score\n");
    const sizes = ["1-10", "11-50", "51-200", "201-1000", "1000+"];
    for (let i = 0; i < BIG_ROWS; i++) {
      if (!out.write(`${sizes[i % 5]},${1000 + ((i * 7919) % 500_000)},${1 + (i % 9)},${1 + ((i * 3) % 9)}\n`)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");

    const gc = exposeGc();
    gc();
    const baselineHeap = process.memoryUsage().heapUsed;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    try {
      const started = performance.now();
      const res = await upload("/api/v1/imports", await openAsBlob(file), { target: "predict:lead_scoring" }, "leads-big.csv");
      assert.equal(res.status, 202, res.text);
      const seen = new Set<number>();
      let done;
      for (const deadline = Date.now() + 180_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
        const s = (await user.http.get(`/api/v1/imports/${res.body.import_id}`)).body;
        seen.add(s.progress.percent);
        if (s.status === "completed" || s.status === "failed") {
          done = s;
          break;
        }
      }
      assert.ok(done, "the large import finished within 180 s");
      const importSeconds = (performance.now() - started) / 1000;
      const jobSeconds = (Date.parse(done.finished_at) - Date.parse(done.started_at)) / 1000;
      assert.equal(done.status, "completed", done.error);
      assert.deepEqual(done.report.rows, { total: BIG_ROWS, valid: BIG_ROWS, rejected: 0 });
      assert.ok([...seen].some((p) => p > 0 && p < 100), `progress was visible while it ran: ${[...seen].join(", ")}`);
      const growthMb = (peak - baseline) / 1048576;
      gc();
      const liveMb = (process.memoryUsage().heapUsed - baselineHeap) / 1048576;
      console.log(
        `# ${BIG_ROWS} rows imported in ${importSeconds.toFixed(1)} s (the job itself: ${jobSeconds.toFixed(1)} s); ` +
          `peak RSS growth ${growthMb.toFixed(0)} MB over ${(baseline / 1048576).toFixed(0)} MB; live heap after GC ${liveMb >= 0 ? "+" : ""}${liveMb.toFixed(1)} MB`,
      );
      // The live heap after a full GC is the bound at any size: nothing per row is kept. RSS also
      // holds garbage V8 has not collected yet, from the scorer in this process too, and grows with
      // the rows until V8's next full GC (measured: 246 MB at 100,000 rows, live heap +10.5 MB), so
      // the 200 MB RSS bound is asserted at the default size only.
      assert.ok(liveMb < 32, `the live heap grew by ${liveMb.toFixed(1)} MB`);
      if (BIG_ROWS <= 10_000) assert.ok(growthMb < 200, `RSS grew by ${growthMb.toFixed(0)} MB`);
    } finally {
      clearInterval(sampler);
    }
  });
});

describe("an interrupted import", () => {
  const configs: Config[] = [];
  const platforms: Platform[] = [];
  let workDir: string;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), "tidecast-resume-"));
  });
  after(async () => {
    for (const p of platforms) await p.close().catch(() => undefined);
    for (const c of configs) await dropAll(c);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const leadsFile = async (rows: number) => {
    const file = join(workDir, `leads-${rows}.csv`);
    const out = createWriteStream(file);
    out.write("company_size,budget,industry_score\n");
    for (let i = 0; i < rows; i++) if (!out.write(`11-50,${1000 + i},${1 + (i % 9)}\n`)) await once(out, "drain");
    out.end();
    await once(out, "finish");
    return file;
  };
  const uploadTo = async (platform: Platform, file: string) => {
    const user = await signedInClient(platform);
    const form = new FormData();
    form.append("target", "predict:lead_scoring");
    form.append("file", await openAsBlob(file), "leads.csv");
    const res = await fetch(platform.url + "/api/v1/imports", { method: "POST", headers: { "X-API-Key": user.apiKey }, body: form });
    assert.equal(res.status, 202);
    return ((await res.json()) as { import_id: string }).import_id;
  };
  const checkpointOf = async (queues: Queues, id: string) => ((await queues.imports.getJob(id))?.progress as { checkpoint?: number } | undefined)?.checkpoint ?? 1;
  const completed = (platform: Platform, id: string) =>
    eventually(async () => {
      const r = await platform.jobs!.imports.get(id);
      return r?.status === "completed" ? r : undefined;
    }, 90_000, "the resumed import");
  const predictSent = async (platform: Platform) =>
    (await platform.metrics.published.get()).values.filter((v) => v.labels.stream === "predict").reduce((a, v) => a + v.value, 0);

  it("on a stop, checkpoints and goes back to the queue; the next process finishes it without a duplicate", { timeout: 120_000 }, async () => {
    const rows = 50_000;
    const config = isolatedConfig();
    configs.push(config);
    const file = await leadsFile(rows);
    // no scorer: the PREDICT stream keeps every message, so a duplicate would show in its count
    const first = await startTestPlatform(config, { api: true, pipelines: [], jobs: true });
    platforms.push(first);
    const id = await uploadTo(first, file);
    const checkpoint = await eventually(async () => {
      const c = await checkpointOf(first.jobs!.queues, id);
      return c > 1 ? c : undefined;
    }, 60_000, "a checkpoint");
    await first.close();

    const queues = createQueues(config);
    const db = createDb({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: 1 });
    let resumeFrom: number;
    try {
      assert.equal((await db("imports").where({ id }).first()).status, "queued", "a stop puts the import back in the queue");
      assert.equal(await (await queues.imports.getJob(id))!.getState(), "waiting");
      resumeFrom = await checkpointOf(queues, id);
      assert.ok(resumeFrom >= checkpoint && resumeFrom < rows, `stopped mid-file, at row ${resumeFrom}`);
    } finally {
      await queues.close();
      await db.destroy();
    }

    const second = await startTestPlatform(config, { api: false, pipelines: [], jobs: true });
    platforms.push(second);
    const done = await completed(second, id);
    assert.deepEqual(done.report!.rows, { total: rows, valid: rows, rejected: 0 });
    assert.equal((await second.bus.jsm.streams.info(second.bus.names.predict)).state.messages, rows, "every row once");
    // the second process published from the checkpoint on: the rows before it were not sent again
    assert.equal(await predictSent(second), rows - resumeFrom + 1);
  });

  it("after SIGKILL, is taken up again by the stalled-job check and finishes without a duplicate", { timeout: 150_000 }, async () => {
    const rows = 50_000;
    const config = isolatedConfig({ JOB_LOCK_MS: "2000" });
    configs.push(config);
    const file = await leadsFile(rows);
    const api = await startTestPlatform(config, { api: true, pipelines: [], jobs: false });
    platforms.push(api);
    const worker = startChild(config, { ROLE: "jobs", JOB_LOCK_MS: "2000" });
    try {
      await worker.waitFor("job workers started", 60_000);
      const id = await uploadTo(api, file);
      await eventually(async () => ((await checkpointOf(api.jobs!.queues, id)) > 1 ? true : undefined), 60_000, "a checkpoint");
      worker.child.kill("SIGKILL");
      await worker.exited;
      const killTime = Date.now();
      const killedAt = await checkpointOf(api.jobs!.queues, id);
      assert.ok(killedAt < rows, `killed mid-file, checkpoint at row ${killedAt}`);
      const processedOn = (await api.jobs!.queues.imports.getJob(id))!.processedOn;

      const second = await startTestPlatform(config, { api: false, pipelines: [], jobs: true });
      platforms.push(second);
      await eventually(async () => ((await api.jobs!.queues.imports.getJob(id))!.processedOn !== processedOn ? true : undefined), 60_000, "the job taken up again");
      console.log(`# with JOB_LOCK_MS=2000, taken up again ${((Date.now() - killTime) / 1000).toFixed(1)} s after the SIGKILL`);
      const done = await completed(second, id);
      assert.deepEqual(done.report!.rows, { total: rows, valid: rows, rejected: 0 });
      // rows sent after the last checkpoint went out twice; the stream's dedup window dropped the repeats
      assert.equal((await second.bus.jsm.streams.info(second.bus.names.predict)).state.messages, rows, "every row once");
      assert.equal(await predictSent(second), rows - killedAt + 1, "resumed from the last checkpoint");
    } finally {
      worker.child.kill("SIGKILL");
    }
  });
});

/** dropIsolated, plus the upload bucket's stream (OBJ_<prefix>...), which it does not know. */
async function dropAll(config: Config): Promise<void> {
  await dropIsolated(config);
  const nc = await connect({ servers: config.NATS_URL });
  try {
    await (await jetstreamManager(nc)).streams.delete(`OBJ_${uploadsBucket(config.STREAM_PREFIX)}`).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** A full garbage collection, without starting node with --expose-gc. */
function exposeGc(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}
