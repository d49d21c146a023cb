import { join } from "node:path";
import Router from "@koa/router";
import { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import Koa from "koa";
import { koaBody } from "koa-body";
import { ROOT_DIR } from "../config.ts";
import { bullBoard } from "../console/index.ts";
import { consoleStatic } from "./console-static.ts";
import type { ApiDeps } from "./deps.ts";
import { buildOpenApiDocument, mountDocs } from "./docs.ts";
import { authenticate } from "./middleware/authenticate.ts";
import { errorMiddleware } from "./middleware/errors.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { requestContext } from "./middleware/request-context.ts";
import { mountRoutes, type AnyRoute } from "./route-table.ts";
import { alertRoutes } from "./routes/alerts.ts";
import { authRoutes } from "./routes/auth.ts";
import { customerRoutes } from "./routes/customers.ts";
import { dashboardRoutes } from "./routes/dashboard.ts";
import { enterpriseRoutes } from "./routes/enterprise.ts";
import { deadLetterRoutes } from "./routes/dead-letters.ts";
import { userRoutes } from "./routes/users.ts";
import { eventRoutes } from "./routes/events.ts";
import { healthRoutes } from "./routes/health.ts";
import { modelAdminRoutes } from "./routes/model-admin.ts";
import { modelGalleryRoutes } from "./routes/model-gallery.ts";
import { modelRoutes } from "./routes/models.ts";
import { monitoringRoutes } from "./routes/monitoring.ts";
import { predictRoutes } from "./routes/predict.ts";
import { predictionRoutes } from "./routes/predictions.ts";
import { recommendationBatchRoutes } from "./routes/recommendation-batches.ts";
import { recommendationRoutes } from "./routes/recommendations.ts";
import { explainRoutes } from "./routes/explain.ts";
import { leadScoreRoutes } from "./routes/lead-score.ts";
import { seedPredictRoutes } from "./routes/seed-predict.ts";
import { importRoutes, mountUploadRoutes } from "./routes/imports.ts";
import { trainingRoutes } from "./routes/training.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import type { Jobs } from "../jobs/index.ts";

/** The Koa application: middleware in order, then one route table that also yields the OpenAPI document. */
export function createApp(deps: ApiDeps, jobs: Jobs | null = null) {
  const app = new Koa({ proxy: false });
  app.on("error", (err, ctx) => deps.log.error({ err, requestId: ctx?.state?.requestId, path: ctx?.path }, "request failed"));

  const routes: AnyRoute[] = [
    ...healthRoutes(deps),
    ...monitoringRoutes(deps),
    ...authRoutes(deps),
    ...predictRoutes(deps),
    ...seedPredictRoutes(deps),
    ...enterpriseRoutes(deps),
    ...leadScoreRoutes(deps),
    ...explainRoutes(deps),
    ...predictionRoutes(deps),
    ...recommendationRoutes(deps),
    ...modelRoutes(deps),
    ...modelGalleryRoutes(deps),
    ...modelAdminRoutes(deps),
    ...eventRoutes(deps),
    ...deadLetterRoutes(deps),
    ...userRoutes(deps),
    ...alertRoutes(deps),
    ...customerRoutes(deps),
    ...dashboardRoutes(deps),
    ...(jobs ? importRoutes(jobs) : []),
    ...(jobs ? trainingRoutes(deps.config, jobs) : []),
    ...(jobs ? recommendationBatchRoutes(jobs) : []),
    ...(jobs ? webhookRoutes(deps, jobs) : []),
  ];
  const registry = new OpenAPIRegistry();
  const router = new Router();
  mountRoutes(router, registry, routes);
  // CSV uploads stream multipart bodies, which the route table does not take
  if (jobs) mountUploadRoutes(router, registry, deps, jobs);
  const openapi = buildOpenApiDocument(registry, deps.version);
  mountDocs(router, openapi);

  app.use(requestContext(deps.metrics));
  app.use(errorMiddleware({ exposeInternals: deps.config.NODE_ENV === "development" }));
  app.use(consoleStatic(join(ROOT_DIR, "console", "dist")));
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
  // admins only, and before the rate limit: its page polls the queues every few seconds
  app.use(bullBoard(jobs?.queues.all() ?? []));
  app.use(rateLimit(deps.redis, {
    apiKeyPerHour: deps.config.RATE_LIMIT_API_KEY_PER_HOUR,
    tokenPerHour: deps.config.RATE_LIMIT_TOKEN_PER_HOUR,
    ipPerHour: deps.config.RATE_LIMIT_IP_PER_HOUR,
  }, deps.log, deps.config.STREAM_PREFIX));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, openapi };
}
