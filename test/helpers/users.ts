import type { Platform } from "../../src/platform.ts";
import { client } from "./env.ts";

let counter = 0;

/** Registers a fresh user through the API and returns a client signed in with its API key. */
export async function signedInClient(platform: Platform, role?: "admin" | "operator" | "analyst") {
  const name = `user${process.pid}x${++counter}`;
  const reg = await client(platform.url!).post("/api/auth/register", { username: name, email: `${name}@example.com`, password: "password-1" });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${reg.text}`);
  if (role) await platform.db("users").where({ id: reg.body.user_id }).update({ role });
  return { userId: reg.body.user_id as number, apiKey: reg.body.api_key as string, http: client(platform.url!, { apiKey: reg.body.api_key }) };
}

/** A user's credit balance, as the scorer leaves it. */
export async function creditsOf(platform: Platform, userId: number): Promise<number> {
  const row = await platform.db("users").where({ id: userId }).first("credits_remaining");
  return row.credits_remaining as number;
}
