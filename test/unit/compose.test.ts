// No Docker engine runs here: this checks what can be checked of docker-compose.yml without one.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";
import { DASHBOARDS_MOUNT } from "../../grafana/provisioning.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const Service = z.object({
  image: z.string(),
  build: z.unknown().optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  healthcheck: z.object({ test: z.array(z.string()).min(2), interval: z.string(), timeout: z.string(), retries: z.number().int().positive() }),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
});
const Compose = z.object({
  services: z.record(z.string(), Service),
  volumes: z.record(z.string(), z.null()).optional(),
});

const compose = Compose.parse(parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")));
const { services } = compose;
const service = (name: string) => {
  const s = services[name];
  assert.ok(s, `service ${name}`);
  return s;
};

/** "HOST:CONTAINER[:mode]" of a volume entry; the host part is a path when it starts with "." or "/". */
function splitVolume(entry: string) {
  const [host, container, mode] = entry.split(":");
  return { host: host!, container: container!, mode, bind: host!.startsWith(".") || host!.startsWith("/") };
}

describe("docker-compose.yml", () => {
  it("runs the whole stack", () => {
    assert.deepEqual(Object.keys(services).sort(), ["app", "grafana", "nats", "postgres", "prometheus", "redis"]);
  });

  it("pins every image to an exact version", () => {
    for (const [name, s] of Object.entries(services)) {
      const [, tag] = s.image.split(/:(?=[^/]+$)/);
      assert.ok(tag, `${name}: ${s.image} has no tag`);
      // PostgreSQL's versions have two parts (15.10); everything else here has three
      assert.match(tag, /^v?\d+\.\d+(\.\d+)?(-[a-z0-9]+)?$/, `${name}: ${s.image} is not pinned to an exact version`);
    }
    assert.ok(services.app?.build, "the app is built from this repository");
  });

  it("gives every service a healthcheck, and starts each after what it depends on is healthy", () => {
    for (const [name, s] of Object.entries(services)) {
      assert.ok(["CMD", "CMD-SHELL"].includes(s.healthcheck.test[0]!), `${name}: healthcheck form`);
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
        assert.equal(condition, "service_healthy", `${name} -> ${dep}`);
      }
    }
    const deps = (name: string) => Object.keys(service(name).depends_on ?? {}).sort();
    assert.deepEqual(deps("app"), ["nats", "postgres", "redis"]);
    assert.deepEqual(deps("prometheus"), ["app"]);
    assert.deepEqual(deps("grafana"), ["postgres", "prometheus"]);
  });

  it("publishes the expected ports, infrastructure on loopback only", () => {
    const ports = (name: string) => service(name).ports ?? [];
    assert.deepEqual(ports("app"), ["8000:8000"]);
    assert.deepEqual(ports("prometheus"), ["127.0.0.1:9090:9090"]);
    assert.deepEqual(ports("grafana"), ["127.0.0.1:3000:3000"]);
    for (const name of ["postgres", "nats", "redis", "prometheus", "grafana"]) {
      for (const p of ports(name)) assert.match(p, /^127\.0\.0\.1:/, `${name} port ${p}`);
    }
  });

  it("mounts only files and folders that exist in the repository, and declares every named volume", () => {
    for (const [name, s] of Object.entries(services)) {
      for (const entry of s.volumes ?? []) {
        const v = splitVolume(entry);
        if (v.bind) {
          assert.ok(existsSync(join(ROOT, v.host)), `${name}: ${v.host} does not exist`);
          assert.equal(v.mode, "ro", `${name}: ${v.host} is mounted read-only`);
        } else {
          assert.ok(compose.volumes && v.host in compose.volumes, `${name}: volume ${v.host} is not declared`);
        }
      }
    }
    const mounts = (name: string) => (service(name).volumes ?? []).map(splitVolume);
    assert.ok(mounts("nats").some((v) => !v.bind && v.container === "/data"), "JetStream data survives a restart");
    assert.ok(service("nats").command?.includes("-js"), "NATS runs with JetStream");
    assert.ok(mounts("postgres").some((v) => !v.bind && v.container === "/var/lib/postgresql/data"));
  });

  it("gives Prometheus the repository's scrape config, and Grafana the generated provisioning and dashboards", () => {
    const prometheus = service("prometheus");
    const config = prometheus.volumes?.map(splitVolume).find((v) => v.host === "./prometheus/prometheus.yml");
    assert.ok(config, "prometheus.yml is mounted");
    assert.ok(prometheus.command?.includes(`--config.file=${config.container}`));
    const scrape = parse(readFileSync(join(ROOT, "prometheus/prometheus.yml"), "utf8"));
    assert.deepEqual(scrape.scrape_configs[0].static_configs[0].targets, ["app:8000"], "scrapes the app service");
    assert.equal(scrape.scrape_configs[0].metrics_path, "/metrics");

    const grafana = service("grafana");
    const mounts = Object.fromEntries((grafana.volumes ?? []).map(splitVolume).map((v) => [v.host, v.container]));
    assert.equal(mounts["./grafana/provisioning"], "/etc/grafana/provisioning");
    assert.equal(mounts["./grafana/dashboards"], DASHBOARDS_MOUNT, "where the dashboard provider reads");
    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    assert.ok(home?.startsWith(`${DASHBOARDS_MOUNT}/`) && existsSync(join(ROOT, "grafana/dashboards", home.slice(DASHBOARDS_MOUNT.length + 1))), `home dashboard ${home}`);
  });

  it("sets every variable the provisioned datasources read, and the same Postgres credentials as the app", () => {
    const provisioning = readFileSync(join(ROOT, "grafana/provisioning/datasources/datasources.yml"), "utf8");
    const wanted = [...new Set([...provisioning.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!))];
    assert.ok(wanted.length > 0);
    const env = service("grafana").environment ?? {};
    for (const name of wanted) assert.ok(env[name], `grafana environment lacks ${name}`);
    const db = new URL(service("app").environment?.DATABASE_URL ?? "");
    assert.equal(`${db.hostname}:${db.port}`, env.TIDECAST_PG_HOST);
    assert.equal(db.username, env.TIDECAST_PG_USER);
    assert.equal(db.password, env.TIDECAST_PG_PASSWORD);
    assert.equal(db.pathname.slice(1), env.TIDECAST_PG_DATABASE);
    assert.equal(env.TIDECAST_PROMETHEUS_URL, "http://prometheus:9090");
  });
});
