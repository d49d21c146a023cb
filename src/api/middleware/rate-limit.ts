import type { Context, Next } from "koa";
import type { Redis } from "ioredis";
import { isMetered, type Principal } from "../../auth/index.ts";
import { RateLimitError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import { LeasedRateLimiter, type LimitDecision } from "./leased-limiter.ts";

const HOUR_MS = 3_600_000;

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
  const make = (name: string, points: number) => new LeasedRateLimiter(redis, `${keyPrefix}rl:${name}:`, points, HOUR_MS);
  const byKey = make("key", limits.apiKeyPerHour);
  const byUser = make("user", limits.tokenPerHour);
  const byIp = make("ip", limits.ipPerHour);

  return async (ctx: Context, next: Next) => {
    const principal = ctx.state.principal as Principal | null;
    let limiter: LeasedRateLimiter | undefined;
    let key = "";
    if (principal && !isMetered(principal)) return next();
    if (principal) {
      limiter = principal.via === "api_key" ? byKey : byUser;
      key = principal.rateKey;
    } else if (ctx.path === "/api/auth/login" || ctx.path === "/api/auth/register") {
      limiter = byIp;
      key = ctx.ip;
    }
    if (!limiter) return next();
    let decision: LimitDecision;
    try {
      decision = await limiter.consume(key);
    } catch (err) {
      log.warn({ err }, "rate limiter unavailable; request allowed");
      return next();
    }
    const state = setHeaders(ctx, decision);
    if (!decision.allowed) {
      const retryAfter = Math.max(1, state.reset - Math.floor(Date.now() / 1000));
      ctx.set("Retry-After", String(retryAfter));
      throw new RateLimitError(retryAfter);
    }
    ctx.state.rateLimit = state;
    return next();
  };
}

function setHeaders(ctx: Context, decision: LimitDecision): RateLimitState {
  const state = { limit: decision.limit, remaining: decision.remaining, reset: Math.ceil(decision.resetAt / 1000) };
  ctx.set("X-RateLimit-Limit", String(state.limit));
  ctx.set("X-RateLimit-Remaining", String(state.remaining));
  ctx.set("X-RateLimit-Reset", String(state.reset));
  return state;
}
