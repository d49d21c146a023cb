import Router from "@koa/router";
import { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import Koa from "koa";
import { koaBody } from "koa-body";
import type { ApiDeps } from "./deps.ts";
import { buildOpenApiDocument, mountDocs } from "./docs.ts";
import { authenticate } from "./middleware/authenticate.ts";
import { errorMiddleware } from "./middleware/errors.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { requestContext } from "./middleware/request-context.ts";
import { mountRoutes, type AnyRoute } from "./route-table.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { authRoutes } from "./routes/auth.ts";
import { deadLetterRoutes } from "./routes/dead-letters.ts";
import { eventRoutes } from "./routes/events.ts";
import { healthRoutes } from "./routes/health.ts";
import { modelRoutes } from "./routes/models.ts";
import { predictRoutes } from "./routes/predict.ts";
import { predictionRoutes } from "./routes/predictions.ts";
import { sentimentRoutes } from "./routes/sentiment.ts";

/** The Koa application: middleware in order, then one route table that also yields the OpenAPI document. */
export function createApp(deps: ApiDeps) {
  const app = new Koa({ proxy: false });
  app.on("error", (err, ctx) => deps.log.error({ err, requestId: ctx?.state?.requestId, path: ctx?.path }, "request failed"));

  const routes: AnyRoute[] = [
    ...healthRoutes(deps),
    ...authRoutes(deps),
    ...predictRoutes(deps),
    ...sentimentRoutes(deps),
    ...predictionRoutes(deps),
    ...modelRoutes(deps),
    ...eventRoutes(deps),
    ...deadLetterRoutes(deps),
    ...alertRoutes(deps),
  ];
  const registry = new OpenAPIRegistry();
  const router = new Router();
  mountRoutes(router, registry, routes);
  const openapi = buildOpenApiDocument(registry, deps.version);
  mountDocs(router, openapi);

  app.use(requestContext(deps.metrics));
  app.use(errorMiddleware({ exposeInternals: deps.config.NODE_ENV === "development" }));
  app.use(
    koaBody({
      json: true,
      multipart: false,
      urlencoded: false,
      text: false,
      jsonLimit: deps.config.MAX_BODY_BYTES,
      jsonStrict: true,
    }),
  );
  app.use(authenticate(deps.auth));
  app.use(rateLimit(deps.redis, {
    apiKeyPerHour: deps.config.RATE_LIMIT_API_KEY_PER_HOUR,
    tokenPerHour: deps.config.RATE_LIMIT_TOKEN_PER_HOUR,
    ipPerHour: deps.config.RATE_LIMIT_IP_PER_HOUR,
  }, deps.log, deps.config.STREAM_PREFIX));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, openapi };
}
