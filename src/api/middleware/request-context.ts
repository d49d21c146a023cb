import { randomUUID } from "node:crypto";
import type { Context, Next } from "koa";
import type { Metrics } from "../../metrics.ts";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** Sets the request id (the caller's X-Request-Id when sane) and records HTTP metrics per route. */
export function requestContext(metrics: Metrics) {
  return async (ctx: Context, next: Next) => {
    const given = ctx.get("X-Request-Id");
    ctx.state.requestId = REQUEST_ID.test(given) ? given : randomUUID();
    ctx.set("X-Request-Id", ctx.state.requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      // the matched route pattern, not the raw path, keeps label cardinality bounded
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? (ctx.status === 404 ? "unmatched" : ctx.path);
      const labels = { method: ctx.method, route: String(route), status: String(ctx.status) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
    }
  };
}
