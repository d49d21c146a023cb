import { existsSync } from "node:fs";
import { extname, join } from "node:path";
import type { Context, Next } from "koa";
import send from "koa-send";

const BASE = "/console";

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tidecast console not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>The console has not been built</h1>
<p>Build it once with <code>npm run build:console</code> (the start command, <code>npm start</code>, does it for you), then reload this page.</p>
</body></html>`;

/**
 * Serves the console's build (console/dist) at /console: hashed assets cached for a year, any other
 * path without a file extension answered with index.html so the page's own router takes it. `/monitoring` (seed 000's
 * dashboard) leads there. The page holds no data: everything it shows comes from the API and the
 * socket, which check the session.
 */
export function consoleStatic(distDir: string) {
  return async (ctx: Context, next: Next) => {
    if (ctx.path === "/monitoring" || ctx.path === BASE) return ctx.redirect(`${BASE}/`);
    if (!ctx.path.startsWith(`${BASE}/`) || (ctx.method !== "GET" && ctx.method !== "HEAD")) return next();
    if (!existsSync(join(distDir, "index.html"))) {
      ctx.status = 503;
      ctx.type = "html";
      ctx.body = NOT_BUILT;
      return;
    }
    const file = ctx.path.slice(BASE.length);
    if (extname(file)) {
      // a file: served as built (404 when missing); Vite's names under assets/ carry a content hash
      const hashed = file.startsWith("/assets/");
      await send(ctx, file, { root: distDir, ...(hashed ? { immutable: true, maxage: 365 * 86_400_000 } : {}) });
      return;
    }
    ctx.set("Cache-Control", "no-cache");
    await send(ctx, "index.html", { root: distDir });
  };
}
