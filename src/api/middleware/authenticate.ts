import type { Context, Next } from "koa";
import type { AuthService } from "../../auth/index.ts";
import { AuthenticationError } from "../../errors.ts";

/**
 * Resolves the caller from `Authorization: Bearer` or `X-API-Key`. A bad credential is kept and
 * raised only by routes that need a user, so public routes still answer.
 */
export function authenticate(auth: AuthService) {
  return async (ctx: Context, next: Next) => {
    ctx.state.principal = null;
    const header = ctx.get("Authorization");
    const bearer = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : undefined;
    const apiKey = ctx.get("X-API-Key") || undefined;
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
