// The generated dashboards against live data: a real Prometheus (Debian's `prometheus`, which
// .ci/run installs) scrapes a running platform, and every panel's query must return data.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { generatedFiles } from "../../grafana/output.ts";
import { PIPELINES } from "../../pipelines/index.ts";
import type { Platform } from "../../src/platform.ts";
import { dropIsolated, eventually, isolatedConfig, startTestPlatform } from "../helpers/env.ts";
import { shippedVersion } from "../helpers/shipped.ts";
import { signedInClient } from "../helpers/users.ts";
import { webhookReceiver } from "../helpers/webhook-receiver.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SCRAPE_SECONDS = 1;
// Grafana's $__rate_interval: max($__interval + scrape interval, 4 × scrape interval), with a 1 s step
const RATE_INTERVAL = `${4 * SCRAPE_SECONDS}s`;
// Tables this test fills through the platform; the others' panels must run, but may return nothing.
const TABLES_WITH_TEST_DATA = new Set(["customer_state", "alerts"]);

const RISKY = { tenure: 1, contract_type: "Month-to-month", internet_service: "Fiber optic", payment_method: "Electronic check", monthly_charges: 99 };
const LOYAL = { tenure: 60, monthly_charges: 30, contract_type: "Two year", internet_service: "DSL", payment_method: "Credit card (automatic)" };

interface Target {
  refId: string;
  expr?: string;
  rawSql?: string;
}
interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  allValue?: string | null;
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

interface Query {
  where: string;
  text: string;
  variables: Variable[];
}

function dashboards(): Dashboard[] {
  const dir = join(ROOT, "grafana/dashboards");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Dashboard);
}

/** Every target of every panel on the given datasource type, named for the failure report. */
function queries(datasourceType: string): Query[] {
  return dashboards().flatMap((d) =>
    d.panels
      .filter((p) => p.datasource?.type === datasourceType)
      .flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${d.uid} / ${p.title} / ${t.refId}`, text: t.expr ?? t.rawSql ?? "", variables: d.templating.list }))),
  );
}

/** Replaces `$name` with each variable's value, then fails on any `$` left over (an unknown variable or macro). */
function substitute(text: string, values: Record<string, string>): string {
  const out = text.replace(/\$(\w+)/g, (whole, name: string) => values[name] ?? whole);
  const left = out.match(/\$\w+/g);
  if (left) throw new Error(`unsubstituted ${left.join(", ")} in: ${text}`);
  return out;
}

const DURATION_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
function seconds(duration: string): number {
  const m = /^(\d+)([smhd])$/.exec(duration.trim());
  if (!m) throw new Error(`not a duration: ${duration}`);
  return Number(m[1]) * DURATION_SECONDS[m[2]!]!;
}

/** The SQL macros the dashboards use, expanded as Grafana's Postgres datasource does. */
function expandSqlMacros(sql: string, from: Date, to: Date): string {
  return sql
    .replace(/\$__timeGroupAlias\(\s*([^,]+?)\s*,\s*([^)]+?)\s*\)/g, (_m, col: string, interval: string) => {
      const s = seconds(interval);
      return `floor(extract(epoch from ${col})/${s})*${s} AS "time"`;
    })
    .replace(/\$__timeFilter\(\s*([^)]+?)\s*\)/g, (_m, col: string) => `${col} BETWEEN '${from.toISOString()}' AND '${to.toISOString()}'`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A Prometheus of this test's own: its own port, storage and config (the repository's, scraping `target` every second). */
async function startPrometheus(target: string) {
  const dir = mkdtempSync(join(tmpdir(), "tidecast-prometheus-"));
  const config = parse(readFileSync(join(ROOT, "prometheus/prometheus.yml"), "utf8"));
  config.global.scrape_interval = `${SCRAPE_SECONDS}s`;
  config.global.evaluation_interval = `${SCRAPE_SECONDS}s`;
  config.scrape_configs[0].static_configs = [{ targets: [target] }];
  writeFileSync(join(dir, "prometheus.yml"), stringify(config));
  const port = await freePort();
  const log = openSync(join(dir, "prometheus.log"), "w");
  const child: ChildProcess = spawn(
    "prometheus",
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
    { stdio: ["ignore", log, log] },
  );
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const url = `http://127.0.0.1:${port}`;
  const logText = () => readFileSync(join(dir, "prometheus.log"), "utf8");
  await eventually(async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 20_000, "Prometheus ready").catch((err) => {
    throw new Error(`${err.message}\n${logText()}`);
  });
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface PromSeries {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}

async function promQuery(url: string, path: string, params: Record<string, string>): Promise<PromSeries[]> {
  const res = await fetch(`${url}/api/v1/${path}`, { method: "POST", body: new URLSearchParams(params) });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSeries[] } };
  if (body.status !== "success") throw new Error(`${body.error ?? res.status}`);
  return body.data!.result;
}

describe("Grafana dashboards", () => {
  it("are what `npm run grafana` generates (regenerate and commit after changing grafana/*.ts)", () => {
    for (const [path, content] of generatedFiles(ROOT)) {
      assert.equal(readFileSync(join(ROOT, path), "utf8"), content, `${path} is stale: run npm run grafana`);
    }
    const generated = [...generatedFiles(ROOT).keys()].filter((p) => p.startsWith("grafana/dashboards/"));
    const committed = readdirSync(join(ROOT, "grafana/dashboards")).map((f) => `grafana/dashboards/${f}`);
    assert.deepEqual(committed.sort(), generated.sort());
  });

  it("read Prometheus' config, which promtool accepts", () => {
    const check = spawnSync("promtool", ["check", "config", join(ROOT, "prometheus/prometheus.yml")], { encoding: "utf8" });
    assert.equal(check.error, undefined, "promtool is missing: apt-get install prometheus (.ci/run does)");
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });
});

const B2B_LEAD = shippedVersion("b2b_lead_score").parity.rows[0]!.features;

describe("every dashboard panel against a live platform", () => {
  const config = isolatedConfig();
  let platform: Platform;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
  let user: Awaited<ReturnType<typeof signedInClient>>;
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
  const started = new Date();
  let round = 0;

  const metricsText = async () => (await fetch(`${platform.url}/metrics`)).text();
  const publishPredict = (model: string, body: unknown) =>
    platform.bus.publisher.publish("predict", platform.bus.names.predictSubject(model), body, { msgId: randomUUID() });

  /** One round of everything the dashboards show: HTTP 2xx and 4xx, predictions, churn events and an alert, bad messages. */
  async function traffic() {
    round++;
    const key = (n: number) => `gr${round}-${n}`;
    const events = [1, 2, 3].flatMap((n) => [
      { domain: "customer", key: key(n), type: "profile", data: LOYAL },
      { domain: "customer", key: key(n), type: "contract", data: n === 1 ? RISKY : { tenure: 30 + n } },
    ]);
    assert.equal((await user.http.post("/api/events", { events })).status, 202);
    for (let i = 0; i < 3; i++) {
      const res = await user.http.post("/api/predict/churn", { ...RISKY, tenure: 1 + i * 20 });
      assert.equal(res.status, 200, res.text);
    }
    assert.equal((await user.http.post("/api/predict/churn", { tenure: "long" })).status, 422);
    // a lead scored into its bucket (the lead tiers panel)
    assert.equal((await user.http.post("/api/v1/score", { features: B2B_LEAD })).status, 200);
    // not JSON: dead-lettered by the churn pipeline at once
    await platform.bus.publisher.publishBytes("events", platform.bus.names.eventSubject("customer", key(9)), new TextEncoder().encode("{not json"), { msgId: randomUUID() });
    // requests the scorer cannot score, published as producers may
    await publishPredict("churn_telco", { features: { tenure: "long" } });
    await publishPredict("no_such_model", { features: {} });
    await eventually(
      async () => ((await platform.db("customer_state").where("customer_id", key(1)).first())?.risk_level === "High" ? true : undefined),
      15_000,
      `round ${round} scored`,
    );
  }

  /** A scorer transaction that fails once (its table renamed away and back), so its request is redelivered. */
  async function redelivery() {
    await platform.db.raw("ALTER TABLE predictions RENAME TO predictions_away");
    try {
      await publishPredict("churn_telco", { features: LOYAL });
      await eventually(async () => ((await metricsText()).includes('tidecast_consumed_messages_total{pipeline="scorer",outcome="retry"}') ? true : undefined), 10_000, "scorer retry");
    } finally {
      await platform.db.raw("ALTER TABLE predictions_away RENAME TO predictions");
    }
    await eventually(async () => ((await metricsText()).includes('tidecast_redelivered_messages_total{pipeline="scorer"}') ? true : undefined), 10_000, "redelivery");
  }

  before(async () => {
    assert.equal(spawnSync("prometheus", ["--version"]).error, undefined, "prometheus is missing: apt-get install prometheus (.ci/run does)");
    // the jobs role sends webhooks: the user's predictions are delivered to a local endpoint (the webhooks panel)
    platform = await startTestPlatform(config, { api: true, pipelines: PIPELINES.map((p) => p.name), jobs: true });
    user = await signedInClient(platform);
    hooks = await webhookReceiver();
    assert.equal((await user.http.post("/api/webhooks/configure", { url: hooks.url("/predictions"), events: ["prediction.completed"] })).status, 201);
    prometheus = await startPrometheus(new URL(platform.url!).host);
    await traffic();
    await redelivery();
    // A series first scraped with its final value shows no rate: Prometheus must see it before a second round moves it.
    await eventually(
      async () => ((await promQuery(prometheus.url, "query", { query: "tidecast_redelivered_messages_total" })).length > 0 ? true : undefined),
      10_000,
      "first round scraped",
    );
    await new Promise((r) => setTimeout(r, 2_000 * SCRAPE_SECONDS));
    await traffic();
  });

  after(async () => {
    await prometheus?.stop();
    await platform?.close();
    await hooks?.close();
    await dropIsolated(config);
  });

  it("every Prometheus panel query returns a series with a value", async () => {
    const all = queries("prometheus");
    assert.ok(all.length >= 15, `found only ${all.length} Prometheus queries`);
    const failures = new Map<string, string>();
    const deadline = Date.now() + 20_000;
    let pending = all;
    // series appear one scrape after the traffic that creates them: retry until each has data
    while (pending.length > 0 && Date.now() < deadline) {
      const end = new Date();
      const range = Math.ceil((end.getTime() - started.getTime()) / 1000);
      const next: Query[] = [];
      for (const q of pending) {
        const values: Record<string, string> = { __rate_interval: RATE_INTERVAL, __interval: `${SCRAPE_SECONDS}s`, __range: `${range}s` };
        for (const v of q.variables) if (v.allValue) values[v.name] = v.allValue;
        const expr = substitute(q.text, values);
        try {
          const series = await promQuery(prometheus.url, "query_range", {
            query: expr,
            start: String(started.getTime() / 1000),
            end: String(end.getTime() / 1000),
            step: `${SCRAPE_SECONDS}s`,
          });
          const finite = series.some((s) => (s.values ?? []).some(([, v]) => Number.isFinite(Number(v))));
          if (finite) failures.delete(q.where);
          else {
            failures.set(q.where, `no data (${series.length} series, none with a finite value): ${expr}`);
            next.push(q);
          }
        } catch (err) {
          failures.set(q.where, `${(err as Error).message}: ${expr}`);
          next.push(q);
        }
      }
      pending = next;
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 1_000));
    }
    assert.deepEqual(Object.fromEntries(failures), {}, "Prometheus panels without data");
  });

  it("every Postgres panel query runs against Tidecast's tables, with rows where the test made data", async () => {
    const all = queries("grafana-postgresql-datasource");
    assert.ok(all.length >= 5, `found only ${all.length} Postgres queries`);
    const missingTables = new Set<string>();
    const failures: Record<string, string> = {};
    for (const q of all) {
      const values: Record<string, string> = { schema: config.DATABASE_SCHEMA, __interval: "1m" };
      // the time macros take $__interval as an argument: expand variables inside them first
      const sql = substitute(expandSqlMacros(q.text.replaceAll("$__interval", values.__interval!), new Date(started.getTime() - 3_600_000), new Date(Date.now() + 60_000)), values);
      const tables = [...sql.matchAll(new RegExp(`\\b${config.DATABASE_SCHEMA}\\.(\\w+)`, "g"))].map((m) => m[1]!);
      try {
        const { rows } = (await platform.db.raw(sql)) as { rows: unknown[] };
        if (rows.length === 0 && tables.every((t) => TABLES_WITH_TEST_DATA.has(t))) failures[q.where] = `no rows: ${sql}`;
      } catch (err) {
        const e = err as { code?: string; message: string };
        // 42P01: undefined_table, a migration this panel relies on has not landed
        if (e.code === "42P01") for (const t of tables) missingTables.add(t);
        failures[q.where] = `${e.code ?? ""} ${e.message}`;
      }
    }
    assert.deepEqual(failures, {}, missingTables.size > 0 ? `tables missing from the schema: ${[...missingTables].join(", ")}` : "Postgres panels failing");
  });
});
