import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type Router from "@koa/router";
import { OpenApiGeneratorV31, type OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";

// Swagger UI is served from the installed package, so /docs works without internet access.
const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css",
  "swagger-ui-bundle.js": "application/javascript",
};

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tidecast API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui" });</script></body></html>`;

export function buildOpenApiDocument(registry: OpenAPIRegistry, version: string) {
  registry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  registry.registerComponent("securitySchemes", "apiKeyAuth", { type: "apiKey", in: "header", name: "X-API-Key" });
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: { title: "Tidecast API", version, description: "Event-driven streaming predictions: REST, JetStream, ONNX." },
  });
}

/** `/openapi.json` (generated from the route table's schemas) and `/docs` (Swagger UI). */
export function mountDocs(router: Router, document: unknown): void {
  router.get("/openapi.json", (ctx) => {
    ctx.body = document;
  });
  router.get(["/docs", "/redoc"], (ctx) => {
    ctx.type = "html";
    ctx.body = PAGE;
  });
  router.get("/docs/assets/:file", async (ctx) => {
    const type = ASSETS[ctx.params.file!];
    if (!type) return; // falls through to the canonical 404
    ctx.type = type;
    ctx.set("Cache-Control", "public, max-age=86400");
    ctx.body = await readFile(join(SWAGGER_DIR, ctx.params.file!));
  });
}
