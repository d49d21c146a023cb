import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { KoaAdapter } from "@bull-board/koa";
import type { Queue } from "bullmq";
import type { Context, Middleware, Next } from "koa";
import type { Principal } from "../auth/index.ts";
import { AuthenticationError, PermissionError } from "../errors.ts";

export const BULL_BOARD_PATH = "/admin/queues";

/**
 * bull-board over the given BullMQ queues at /admin/queues, for admins only: its pages and its API
 * (retry, clean, pause...) both sit behind the check, which reads the principal the authenticate
 * middleware resolved (bearer, API key or the console's session cookie). A browser without a
 * session is sent to the console's sign-in; anyone else gets the API's 401/403.
 */
export function bullBoard(queues: readonly Queue[]): Middleware {
  const adapter = new KoaAdapter();
  adapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter, options: { uiConfig: { boardTitle: "Tidecast jobs" } } });
  const board = adapter.registerPlugin() as unknown as Middleware;
  return async (ctx: Context, next: Next) => {
    if (ctx.path !== BULL_BOARD_PATH && !ctx.path.startsWith(`${BULL_BOARD_PATH}/`)) return next();
    const principal = ctx.state.principal as Principal | null;
    if (!principal) {
      if (ctx.method === "GET" && ctx.accepts("json", "html") === "html") {
        ctx.redirect(`/console/?next=${encodeURIComponent(ctx.path)}`);
        return;
      }
      throw (ctx.state.authError as AuthenticationError | undefined) ?? new AuthenticationError();
    }
    if (principal.role !== "admin") throw new PermissionError("Jobs (bull-board) are for admins");
    return board(ctx, next);
  };
}
