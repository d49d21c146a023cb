/**
 * The baseline for the sync-prediction figures: a minimal Koa 3 + @koa/router JSON hello world on
 * the same route and method the prediction benchmark calls (the body is not read). Prints
 * `listening <port>` once it accepts connections; stops on SIGTERM.
 */
import { createServer } from "node:http";
import Router from "@koa/router";
import Koa from "koa";

const app = new Koa();
const router = new Router();
const hello = (ctx: Koa.Context) => {
  ctx.body = { hello: "world" };
};
router.post("/api/predict/churn", hello);
router.get("/", hello);
app.use(router.routes());
app.use(router.allowedMethods());

const server = createServer(app.callback());
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  console.log(`listening ${typeof address === "object" && address ? address.port : 0}`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
