import type { Knex } from "knex";
import { hashPassword, type AuthService } from "../auth/index.ts";
import type { Config } from "../config.ts";
import { findUserByLogin } from "../db/users.ts";

/** Creates the first admin account when it does not exist yet (every start, production too). */
export async function ensureAdmin(db: Knex, auth: AuthService, config: Config) {
  const existing = await findUserByLogin(db, config.ADMIN_USERNAME);
  if (existing) return existing;
  const { user } = await auth.register(
    { username: config.ADMIN_USERNAME, email: `${config.ADMIN_USERNAME}@tidecast.local`, password: config.ADMIN_PASSWORD },
    "admin",
  );
  return user;
}

/**
 * The demo admin: its password set to the configured one, and a fresh API key (keys are stored
 * hashed, so a new one is issued each start and older demo keys are revoked).
 */
export async function demoAdmin(db: Knex, auth: AuthService, config: Config) {
  const admin = await ensureAdmin(db, auth, config);
  await db("users").where({ id: admin.id }).update({ password_hash: await hashPassword(config.ADMIN_PASSWORD), role: "admin" });
  await db("api_keys").where({ user_id: admin.id, name: "demo" }).whereNull("revoked_at").update({ revoked_at: db.fn.now() });
  const apiKey = await auth.issueApiKey(admin.id, "demo");
  return { username: config.ADMIN_USERNAME, password: config.ADMIN_PASSWORD, apiKey };
}
