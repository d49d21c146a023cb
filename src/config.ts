import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/** The repository root, so paths work from any working directory. */
export const ROOT_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");

// The one place that reads process.env. Every default is for a developer's machine with the
// services on localhost; 127.0.0.1 rather than localhost because Node may resolve localhost to ::1
// first and the services here listen on IPv4.
const DEV_JWT_SECRET = "tidecast-dev-secret-change-me";

const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  /** a process without the api role serves /metrics and /health/live here when set, so Prometheus can scrape it */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOST: z.string().default("0.0.0.0"),
  /** which roles this process runs: all, api, pipelines, or a comma list of pipeline names */
  ROLE: z.string().default("all"),
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  DATABASE_URL: z.string().default("postgres://postgres@127.0.0.1:5432/postgres"),
  /** Postgres schema that holds Tidecast's tables; tests use a unique one each */
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default("tidecast"),
  // ROLE=all holds up to 8 transactions at once while draining (two lanes each for churn, lead and
  // anomaly, one for recommendations, one scorer statement); the rest serve the API
  DATABASE_POOL_MAX: z.coerce.number().int().min(2).default(16),
  REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  JWT_SECRET: z.string().default(DEV_JWT_SECRET),
  JWT_TTL_SECONDS: z.coerce.number().int().positive().default(86_400),
  /** prefix for stream and KV names, so several installs (or tests) share one NATS server */
  STREAM_PREFIX: z.string().regex(/^[A-Za-z0-9_-]*$/).default(""),
  /** prefix for subjects (`<prefix>events.…`), empty in production */
  SUBJECT_PREFIX: z.string().regex(/^([A-Za-z0-9_-]+\.)*$/).default(""),
  MODELS_DIR: z.string().default(resolve(ROOT_DIR, "models")),
  DATASETS_DIR: z.string().default(resolve(ROOT_DIR, "..", "shared", "datasets")),
  /** how long a synchronous prediction waits for the scorer before answering 504 */
  PREDICT_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** deliveries before a message is dead-lettered */
  MAX_DELIVER: z.coerce.number().int().min(1).default(5),
  ACK_WAIT_MS: z.coerce.number().int().positive().default(30_000),
  /** JetStream dedup window for Nats-Msg-Id */
  DUPLICATE_WINDOW_MS: z.coerce.number().int().positive().default(120_000),
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(1_048_576),
  MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(16 * 1_048_576),
  /** CSV imports one jobs process runs at once (each publishes with its own bounded window) */
  IMPORT_CONCURRENCY: z.coerce.number().int().min(1).default(1),
  /** how long the seed's CSV upload endpoints wait for the import (and its predictions) before answering 202 */
  UPLOAD_SYNC_WAIT_MS: z.coerce.number().int().min(0).default(5_000),
  /** BullMQ job lock; a job whose process died is taken up again within about twice this */
  JOB_LOCK_MS: z.coerce.number().int().min(1_000).default(30_000),
  /** requests per hour per API key, per signed-in user (JWT), and per IP on the sign-in routes (seed 000) */
  RATE_LIMIT_API_KEY_PER_HOUR: z.coerce.number().int().positive().default(1_000),
  RATE_LIMIT_TOKEN_PER_HOUR: z.coerce.number().int().positive().default(5_000),
  RATE_LIMIT_IP_PER_HOUR: z.coerce.number().int().positive().default(100),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** the first admin account, created at start when missing */
  ADMIN_USERNAME: z.string().min(3).max(50).default("admin"),
  ADMIN_PASSWORD: z.string().default("tidecast-admin"),
  /** a charge that takes a user's credits below this sends `user.credit_low` to their webhooks */
  CREDIT_LOW_THRESHOLD: z.coerce.number().int().min(0).default(10),
  /** attempts per webhook delivery, the first retry after WEBHOOK_RETRY_DELAY_MS, each next one twice as late */
  WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(8),
  WEBHOOK_RETRY_DELAY_MS: z.coerce.number().int().min(1).default(10_000),
  /** how long an endpoint has to answer a delivery */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /**
   * whether webhooks may point to loopback and private addresses; by default only outside
   * production, so that users of a shared install cannot make it call its own network
   */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: z.enum(["true", "false"]).optional().transform((v) => (v === undefined ? undefined : v === "true")),
  /** how long accepted HTTP requests may run on after SIGTERM; the whole stop gives up after twice this */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
});

export type Config = Omit<z.infer<typeof EnvSchema>, "WEBHOOK_ALLOW_PRIVATE_NETWORKS"> & { WEBHOOK_ALLOW_PRIVATE_NETWORKS: boolean };

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses and checks the environment; throws a ConfigError that says what to fix. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const config = { ...parsed.data, WEBHOOK_ALLOW_PRIVATE_NETWORKS: parsed.data.WEBHOOK_ALLOW_PRIVATE_NETWORKS ?? parsed.data.NODE_ENV !== "production" };
  if (config.NODE_ENV === "production") {
    if (config.JWT_SECRET === DEV_JWT_SECRET || config.JWT_SECRET.length < 32) {
      throw new ConfigError("JWT_SECRET must be set to a random string of at least 32 characters in production");
    }
    if (config.ADMIN_PASSWORD === "tidecast-admin" || config.ADMIN_PASSWORD.length < 12) {
      throw new ConfigError("ADMIN_PASSWORD must be set to 12+ characters (not the default) in production");
    }
  }
  return config;
}
