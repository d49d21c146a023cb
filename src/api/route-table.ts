import Router from "@koa/router";
import { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import type { Context } from "koa";
import { z } from "./openapi-zod.ts";
import type { Principal } from "../auth/index.ts";
import type { Role } from "../db/users.ts";
import { AuthenticationError, PermissionError, UnsupportedMediaTypeError } from "../errors.ts";
import type { RateLimitState } from "./middleware/rate-limit.ts";
import { parseInput } from "./validation.ts";

/** What a handler returns: plain data, no Koa. */
export interface Reply {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
  /** response content type when the body is a string (CSV, HTML, Prometheus text) */
  type?: string;
}

export interface HandlerInput<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  principal: Principal | null;
  requestId: string;
  /** the caller's rate-limit budget after this request, when the route is limited */
  rateLimit: RateLimitState | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** Who may call a route: anyone, any signed-in user, or the listed roles. */
export type Access = "public" | "user" | readonly Role[];

export interface RouteDef<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI-style path: `/api/v1/predictions/{id}` */
  path: string;
  summary: string;
  tags: string[];
  access: Access;
  body?: B;
  query?: Q;
  params?: P;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  handler: (input: HandlerInput<z.infer<B>, z.infer<Q>, z.infer<P>>) => Promise<Reply> | Reply;
}

// Type-erased form stored in a table; `route()` keeps the types at the definition site.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteDef<any, any, any>;

export function route<B extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined, P extends z.ZodType = z.ZodUndefined>(
  def: RouteDef<B, Q, P>,
): AnyRoute {
  return def;
}

export const ErrorBodySchema = z
  .object({
    status: z.literal("error"),
    error: z.string(),
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    request_id: z.string(),
    timestamp: z.string(),
  })
  .openapi("Error");

/**
 * Mounts a route table on a Koa router and describes it in an OpenAPI registry: one definition
 * gives the validation, the access check and the documentation.
 */
export function mountRoutes(router: Router, registry: OpenAPIRegistry, routes: readonly AnyRoute[]): void {
  for (const def of routes) {
    router[def.method](def.path.replace(/\{(\w+)\}/g, ":$1"), async (ctx: Context) => {
      const principal = authorize(def.access, ctx.state.principal as Principal | null, ctx.state.authError);
      // an empty body needs no type: the schema then decides (an all-optional body may be left out)
      const empty = ctx.request.length === 0 || (ctx.request.length === undefined && !ctx.get("Transfer-Encoding"));
      if (def.body && !empty && !ctx.is("application/json")) {
        throw new UnsupportedMediaTypeError("Content-Type: application/json");
      }
      const reply = await def.handler({
        body: def.body ? parseInput(def.body, empty ? {} : ctx.request.body, "request body") : undefined,
        query: def.query ? parseInput(def.query, ctx.query, "query parameters") : undefined,
        params: def.params ? parseInput(def.params, ctx.params, "path parameters") : undefined,
        principal,
        requestId: ctx.state.requestId as string,
        rateLimit: ctx.state.rateLimit as RateLimitState | undefined,
        headers: ctx.headers,
      });
      ctx.status = reply.status ?? 200;
      if (reply.type) ctx.type = reply.type;
      for (const [k, v] of Object.entries(reply.headers ?? {})) ctx.set(k, v);
      ctx.body = reply.body;
    });
    registry.registerPath({
      method: def.method,
      path: def.path,
      summary: def.summary,
      tags: def.tags,
      security: def.access === "public" ? [] : [{ bearerAuth: [] }, { apiKeyAuth: [] }],
      request: {
        ...(def.params ? { params: def.params as z.ZodObject } : {}),
        ...(def.query ? { query: def.query as z.ZodObject } : {}),
        ...(def.body ? { body: { content: { "application/json": { schema: def.body } } } } : {}),
      },
      responses: Object.fromEntries(
        Object.entries(def.responses).map(([status, r]) => [
          status,
          {
            description: r.description,
            ...(r.schema ? { content: { "application/json": { schema: r.schema } } } : {}),
          },
        ]),
      ),
    });
  }
}

function authorize(access: Access, principal: Principal | null, authError?: AuthenticationError): Principal | null {
  if (access === "public") return principal;
  if (!principal) throw authError ?? new AuthenticationError();
  if (access !== "user" && !access.includes(principal.role)) {
    throw new PermissionError(`This action requires one of the roles: ${access.join(", ")}`);
  }
  return principal;
}
