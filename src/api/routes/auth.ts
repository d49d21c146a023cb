import { z } from "../openapi-zod.ts";
import type { ApiDeps } from "../deps.ts";
import { ErrorBodySchema, route } from "../route-table.ts";
import { clearedSessionCookie, sessionCookie } from "../session-cookie.ts";

const RegisterBody = z
  .strictObject({
    username: z.string().min(3).max(50).regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _ . - only"),
    email: z.email().max(254),
    password: z.string().min(6).max(200),
  })
  .openapi("RegisterRequest");

const LoginBody = z
  .strictObject({ username: z.string().min(1).max(254).describe("username or email"), password: z.string().min(1).max(200) })
  .openapi("LoginRequest");

const RegisterResponse = z.object({ message: z.string(), user_id: z.number(), api_key: z.string() });
const LoginResponse = z.object({
  access_token: z.string(),
  token_type: z.literal("bearer"),
  user_id: z.number(),
  username: z.string(),
  expires_in: z.number(),
});
const UserResponse = z.object({
  user_id: z.number(),
  username: z.string(),
  email: z.string(),
  role: z.string(),
  api_key: z.string().describe("the newest key's prefix: keys are stored hashed and shown in full only once"),
  credits_remaining: z.number(),
  plan: z.string(),
  created_at: z.string(),
});
const ValidateResponse = z.object({
  valid: z.literal(true),
  user_id: z.number(),
  rate_limit: z.object({ remaining: z.number(), reset: z.number() }),
});

export function authRoutes(deps: ApiDeps) {
  // Secure cookies need HTTPS, which production runs behind; a developer's http://localhost does not
  const secure = deps.config.NODE_ENV === "production";
  return [
    route({
      method: "post",
      path: "/api/auth/register",
      summary: "Create an account; its API key is returned once",
      tags: ["auth"],
      access: "public",
      body: RegisterBody,
      responses: { 201: { description: "created", schema: RegisterResponse }, 409: { description: "taken", schema: ErrorBodySchema }, 422: { description: "invalid", schema: ErrorBodySchema } },
      handler: async ({ body }) => {
        const { user, apiKey } = await deps.auth.register(body);
        return { status: 201, body: { message: "User registered successfully", user_id: user.id, api_key: apiKey } };
      },
    }),
    route({
      method: "post",
      path: "/api/auth/login",
      summary: "Sign in with username or email; returns a JWT (also set as the console's httpOnly session cookie)",
      tags: ["auth"],
      access: "public",
      body: LoginBody,
      responses: { 200: { description: "signed in", schema: LoginResponse }, 401: { description: "bad credentials", schema: ErrorBodySchema } },
      handler: async ({ body }) => {
        const { user, token, expiresIn } = await deps.auth.login(body.username, body.password);
        return {
          headers: { "Set-Cookie": sessionCookie(token, expiresIn, secure) },
          body: { access_token: token, token_type: "bearer", user_id: user.id, username: user.username, expires_in: expiresIn },
        };
      },
    }),
    route({
      method: "post",
      path: "/api/auth/logout",
      summary: "Clear the console's session cookie (a JWT itself stays valid until it expires)",
      tags: ["auth"],
      access: "public",
      responses: { 204: { description: "signed out" } },
      handler: () => ({ status: 204, headers: { "Set-Cookie": clearedSessionCookie(secure) }, body: null }),
    }),
    route({
      method: "get",
      path: "/api/auth/user",
      summary: "The signed-in user",
      tags: ["auth"],
      access: "user",
      responses: { 200: { description: "user", schema: UserResponse }, 401: { description: "unauthenticated", schema: ErrorBodySchema } },
      handler: async ({ principal }) => {
        const { user, apiKeyPrefix } = await deps.auth.userInfo(principal!);
        return {
          body: {
            user_id: user.id,
            username: user.username,
            email: user.email,
            role: user.role,
            api_key: apiKeyPrefix ? `${apiKeyPrefix}…` : "",
            credits_remaining: user.credits_remaining,
            plan: user.plan,
            created_at: user.created_at.toISOString(),
          },
        };
      },
    }),
    route({
      method: "get",
      path: "/api/auth/validate",
      summary: "Check an API key or token and see its rate-limit budget",
      tags: ["auth"],
      access: "user",
      responses: { 200: { description: "valid", schema: ValidateResponse }, 401: { description: "invalid", schema: ErrorBodySchema } },
      handler: ({ principal, rateLimit }) => ({
        body: {
          valid: true,
          user_id: principal!.userId,
          rate_limit: { remaining: rateLimit?.remaining ?? 0, reset: rateLimit?.reset ?? Math.ceil(Date.now() / 1000) },
        },
      }),
    }),
  ];
}
