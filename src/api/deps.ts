import type { Knex } from "knex";
import type { Redis } from "ioredis";
import type { AuthService } from "../auth/index.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { ModelRegistry } from "../models/index.ts";
import type { PredictDeps } from "../predictions/index.ts";
import type { Bus } from "../streams/index.ts";

/** What the HTTP layer needs from the rest of the platform. */
export interface ApiDeps {
  config: Config;
  db: Knex;
  redis: Redis;
  bus: Bus;
  registry: ModelRegistry;
  auth: AuthService;
  metrics: Metrics;
  log: Logger;
  startedAt: Date;
  version: string;
}

/** What a REST prediction needs (`requestPrediction`), waiting for the scorer as configured. */
export function predictDeps(deps: ApiDeps): PredictDeps {
  return { ...deps, timeoutMs: deps.config.PREDICT_TIMEOUT_MS };
}
