import { randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import knexFactory from "knex";
import { loadConfig, type Config } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { startPlatform, type Platform, type Roles } from "../../src/platform.ts";

/** Service URLs for tests: the environment may override them (CI, a developer's own services). */
export const SERVICES = {
  nats: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  postgres: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
  redis: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
};

/** A config whose schema, streams, subjects and Redis keys belong to this test alone. */
export function isolatedConfig(overrides: Record<string, string> = {}): Config {
  const id = randomUUID().replace(/-/g, "").slice(0, 10);
  return loadConfig({
    NODE_ENV: "test",
    NATS_URL: SERVICES.nats,
    DATABASE_URL: SERVICES.postgres,
    REDIS_URL: SERVICES.redis,
    DATABASE_SCHEMA: `t_${id}`,
    STREAM_PREFIX: `T${id}_`,
    SUBJECT_PREFIX: `t${id}.`,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ACK_WAIT_MS: "5000",
    ...overrides,
  });
}

export async function startTestPlatform(config: Config, roles: Roles = { api: true, pipelines: ["scorer", "churn"] }): Promise<Platform> {
  return startPlatform(config, createLogger(config.LOG_LEVEL), roles);
}

/** Removes everything a test config created: schema, streams, KV bucket, Redis keys. */
export async function dropIsolated(config: Config): Promise<void> {
  const db = knexFactory({ client: "pg", connection: config.DATABASE_URL });
  try {
    await db.raw("DROP SCHEMA IF EXISTS ?? CASCADE", [config.DATABASE_SCHEMA]);
  } finally {
    await db.destroy();
  }
  const nc = await connect({ servers: config.NATS_URL });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      // KV buckets and object stores live in streams named KV_<bucket> and OBJ_<bucket>
      const own = [config.STREAM_PREFIX, `KV_${config.STREAM_PREFIX}`, `OBJ_${config.STREAM_PREFIX}`];
      if (own.some((prefix) => name.startsWith(prefix))) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
  const redis = new Redis(config.REDIS_URL);
  try {
    const keys = await redis.keys(`${config.STREAM_PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/** A small HTTP client bound to a platform's URL. */
export function client(baseUrl: string, auth: { apiKey?: string; token?: string } = {}) {
  const headers = (extra: Record<string, string> = {}) => ({
    ...(auth.apiKey ? { "X-API-Key": auth.apiKey } : {}),
    ...(auth.token ? { Authorization: `Bearer ${auth.token}` } : {}),
    ...extra,
  });
  const call = async (method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}) => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: headers(body === undefined ? extraHeaders : { "Content-Type": "application/json", ...extraHeaders }),
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON (metrics, HTML)
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, headers: res.headers, text, body: json as any };
  };
  return {
    get: (path: string, h?: Record<string, string>) => call("GET", path, undefined, h),
    post: (path: string, body?: unknown, h?: Record<string, string>) => call("POST", path, body, h),
    patch: (path: string, body?: unknown, h?: Record<string, string>) => call("PATCH", path, body, h),
    delete: (path: string, h?: Record<string, string>) => call("DELETE", path, undefined, h),
  };
}
