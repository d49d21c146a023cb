import { pageCounts } from "../../db/pagination.ts";
import { addCredits, listUsers, MAX_CREDITS, type UserRow } from "../../db/users.ts";
import { NotFoundError, ValidationError } from "../../errors.ts";
import type { ApiDeps } from "../deps.ts";
import { z } from "../openapi-zod.ts";
import { ErrorBodySchema, route, type AnyRoute } from "../route-table.ts";

const User = z
  .object({
    user_id: z.number(),
    username: z.string(),
    email: z.string(),
    role: z.enum(["admin", "operator", "analyst", "user"]),
    tenant_id: z.number(),
    credits_remaining: z.number(),
    created_at: z.string(),
  })
  .openapi("User");

const toUser = (u: UserRow) => ({
  user_id: u.id,
  username: u.username,
  email: u.email,
  role: u.role,
  tenant_id: u.tenant_id,
  credits_remaining: u.credits_remaining,
  created_at: u.created_at.toISOString(),
});

const ADMINS = ["admin"] as const;
const notAdmin = { 403: { description: "not an admin", schema: ErrorBodySchema } };

/**
 * Seed 000's user and credit management, for admins: list the accounts with their balances, and
 * allocate credits (a prediction costs one; at zero the API answers 402). Served at
 * `/api/v1/admin/...` beside the other admin routes, and at seed 000's own `/admin/...` paths.
 */
export function userRoutes(deps: ApiDeps): AnyRoute[] {
  const routes = [
    route({
      method: "get",
      path: "/api/v1/admin/users",
      summary: "Every account with its role and credit balance, paginated",
      tags: ["admin"],
      access: ADMINS,
      query: z.strictObject({
        page: z.coerce.number().int().min(1).default(1),
        page_size: z.coerce.number().int().min(1).max(100).default(20),
      }),
      responses: {
        200: {
          description: "a page",
          schema: z.object({
            items: z.array(User),
            pagination: z.object({ total: z.number(), page: z.number(), page_size: z.number(), pages: z.number(), has_next: z.boolean(), has_prev: z.boolean() }),
          }),
        },
        ...notAdmin,
      },
      handler: async ({ query }) => {
        const { rows, total } = await listUsers(deps.db, query.page, query.page_size);
        return { body: { items: rows.map(toUser), pagination: { total, page: query.page, page_size: query.page_size, ...pageCounts(total, query.page, query.page_size) } } };
      },
    }),
    route({
      method: "post",
      path: "/api/v1/admin/users/{user_id}/credits",
      summary: "Allocate credits to an account (added to its balance; its API sees them within 5 s)",
      tags: ["admin"],
      access: ADMINS,
      params: z.strictObject({ user_id: z.coerce.number().int().min(1).max(MAX_CREDITS) }),
      body: z.strictObject({ credits: z.number().int().min(1).max(MAX_CREDITS).describe("credits to add") }),
      responses: {
        200: { description: "the account with its new balance", schema: User },
        404: { description: "no such user", schema: ErrorBodySchema },
        422: { description: "bad amount, or a balance beyond the maximum", schema: ErrorBodySchema },
        ...notAdmin,
      },
      handler: async ({ params, body }) => {
        const user = await addCredits(deps.db, params.user_id, body.credits);
        if (user === undefined) throw new NotFoundError(`user ${params.user_id} does not exist`, { user_id: params.user_id });
        if (user === "overflow") throw new ValidationError(`the balance would exceed ${MAX_CREDITS} credits`, { credits: [`at most ${MAX_CREDITS} in all`] });
        return { body: toUser(user) };
      },
    }),
  ];
  return [...routes, ...routes.map((r) => ({ ...r, path: r.path.replace("/api/v1/admin/", "/admin/"), summary: `${r.summary} (seed 000's path)` }))];
}
