import type { Context, Next } from "koa";
import type { AuthService } from "../../auth/index.ts";
import { AuthenticationError } from "../../errors.ts";
import { readSessionCookie } from "../session-cookie.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Resolves the caller from `Authorization: Bearer`, `X-API-Key`, or else the console's session
 * cookie (the same JWT). A bad credential is kept and raised only by routes that need a user, so
 * public routes still answer.
 */
export function authenticate(auth: AuthService) {
  return async (ctx: Context, next: Next) => {
    ctx.state.principal = null;
    const header = ctx.get("Authorization");
    let bearer = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : undefined;
    const apiKey = ctx.get("X-API-Key") || undefined;
    if (!bearer && !apiKey) {
      bearer = readSessionCookie(ctx.get("Cookie"));
      // SameSite=Strict already keeps other sites from sending the cookie; a browser's Origin
      // header on a state-changing request is checked too, for browsers that ignore SameSite.
      if (bearer && !SAFE_METHODS.has(ctx.method) && !sameOrigin(ctx)) {
        ctx.state.authError = new AuthenticationError("The session cookie is accepted only from this site's own pages");
        return next();
      }
    }
    if (bearer || apiKey) {
      try {
        ctx.state.principal = await auth.authenticate({ bearer, apiKey });
      } catch (err) {
        if (!(err instanceof AuthenticationError)) throw err;
        ctx.state.authError = err;
      }
    }
    await next();
  };
}

function sameOrigin(ctx: Context): boolean {
  const origin = ctx.get("Origin");
  if (!origin) return true;
  try {
    return new URL(origin).host === ctx.host;
  } catch {
    return false;
  }
}
