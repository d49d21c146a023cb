import type { Context, Next } from "koa";
import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Principal } from "../../auth/index.ts";
import { RateLimitError } from "../../errors.ts";
import type { Logger } from "../../log.ts";

const HOUR_S = 3600;

export interface RateLimits {
  apiKeyPerHour: number;
  tokenPerHour: number;
  ipPerHour: number;
}

export interface RateLimitState {
  limit: number;
  remaining: number;
  /** unix seconds when the window resets */
  reset: number;
}

/**
 * Seed 000's limits, counted in Redis so every API node shares them: per API key, per signed-in
 * user, and per IP on the sign-in routes. When Redis is unreachable requests pass (logged): an
 * outage of the limiter must not become an outage of the API.
 */
export function rateLimit(redis: Redis, limits: RateLimits, log: Logger, keyPrefix: string) {
  const make = (name: string, points: number) =>
    new RateLimiterRedis({ storeClient: redis, keyPrefix: `${keyPrefix}rl:${name}`, points, duration: HOUR_S });
  const byKey = make("key", limits.apiKeyPerHour);
  const byUser = make("user", limits.tokenPerHour);
  const byIp = make("ip", limits.ipPerHour);

  return async (ctx: Context, next: Next) => {
    const principal = ctx.state.principal as Principal | null;
    let limiter: RateLimiterRedis | undefined;
    let key = "";
    if (principal) {
      limiter = principal.via === "api_key" ? byKey : byUser;
      key = principal.rateKey;
    } else if (ctx.path === "/api/auth/login" || ctx.path === "/api/auth/register") {
      limiter = byIp;
      key = ctx.ip;
    }
    if (!limiter) return next();
    let res: RateLimiterRes;
    try {
      res = await limiter.consume(key, 1);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        setHeaders(ctx, limiter.points, err);
        ctx.set("Retry-After", String(Math.ceil(err.msBeforeNext / 1000)));
        throw new RateLimitError(Math.ceil(err.msBeforeNext / 1000));
      }
      log.warn({ err }, "rate limiter unavailable; request allowed");
      return next();
    }
    ctx.state.rateLimit = setHeaders(ctx, limiter.points, res);
    return next();
  };
}

function setHeaders(ctx: Context, limit: number, res: RateLimiterRes): RateLimitState {
  const state = { limit, remaining: res.remainingPoints, reset: Math.ceil((Date.now() + res.msBeforeNext) / 1000) };
  ctx.set("X-RateLimit-Limit", String(state.limit));
  ctx.set("X-RateLimit-Remaining", String(state.remaining));
  ctx.set("X-RateLimit-Reset", String(state.reset));
  return state;
}
