import type { Context, Next } from "koa";
import { AppError } from "../../errors.ts";

const CODES_BY_STATUS: Record<number, [code: string, error: string]> = {
  400: ["BAD_REQUEST", "Bad request"],
  401: ["AUTHENTICATION_REQUIRED", "Authentication required"],
  403: ["INSUFFICIENT_PERMISSIONS", "Insufficient permissions"],
  404: ["NOT_FOUND", "Not found"],
  405: ["METHOD_NOT_ALLOWED", "Method not allowed"],
  413: ["PAYLOAD_TOO_LARGE", "Payload too large"],
  415: ["UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"],
  422: ["INVALID_INPUT", "Validation failed"],
};

/**
 * The first middleware: turns every error into the canonical body. 4xx messages are shown as they
 * are; a 5xx shows no internals and is logged once, through `app.on("error")`.
 */
export function errorMiddleware(options: { exposeInternals: boolean }) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        sendError(ctx, 404, "NOT_FOUND", "Not found", `No route for ${ctx.method} ${ctx.path}`, {});
      }
    } catch (err) {
      if (err instanceof AppError) {
        sendError(ctx, err.status, err.code, err.error, err.message, err.details);
        return;
      }
      // http-errors from koa-body and Koa itself (malformed JSON, body too large, ...)
      const e = err as { status?: number; expose?: boolean; message?: string; type?: string };
      const status = typeof e.status === "number" ? e.status : 500;
      if (status >= 400 && status < 500) {
        const [code, error] = CODES_BY_STATUS[status] ?? ["BAD_REQUEST", "Bad request"];
        const message = status === 400 && /json/i.test(e.message ?? "") ? "Malformed JSON body" : (e.message ?? error);
        sendError(ctx, status, code, error, message, {});
        return;
      }
      sendError(ctx, 500, "INTERNAL_ERROR", "Internal server error", options.exposeInternals && err instanceof Error ? err.message : "Internal server error", {});
      ctx.app.emit("error", err, ctx);
    }
  };
}

function sendError(ctx: Context, status: number, code: string, error: string, message: string, details: Record<string, unknown>) {
  ctx.status = status;
  ctx.body = {
    status: "error",
    error,
    code,
    message,
    details,
    request_id: ctx.state.requestId,
    timestamp: new Date().toISOString(),
  };
}
