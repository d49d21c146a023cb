import type { Knex } from "knex";

export type Role = "admin" | "operator" | "analyst" | "user";

export interface UserRow {
  id: number;
  tenant_id: number;
  username: string;
  email: string;
  password_hash: string;
  role: Role;
  plan: string;
  credits_remaining: number;
  created_at: Date;
}

export interface NewUser {
  username: string;
  email: string;
  passwordHash: string;
  role?: Role;
  tenantName?: string;
  credits?: number;
}

export class UniqueViolation extends Error {
  override name = "UniqueViolation";
  constructor(readonly constraint: string) {
    super(`unique constraint ${constraint} violated`);
  }
}

/** Postgres reports unique violations as SQLSTATE 23505 with the constraint's name. */
export function asUniqueViolation(err: unknown): UniqueViolation | null {
  const e = err as { code?: string; constraint?: string };
  return e?.code === "23505" ? new UniqueViolation(e.constraint ?? "unknown") : null;
}

export async function insertUser(db: Knex, user: NewUser): Promise<UserRow> {
  const tenant = await db("tenants").where({ name: user.tenantName ?? "default" }).first("id");
  if (!tenant) throw new Error(`tenant ${user.tenantName} does not exist`);
  try {
    const [row] = await db("users")
      .insert({
        tenant_id: tenant.id,
        username: user.username,
        email: user.email,
        password_hash: user.passwordHash,
        role: user.role ?? "user",
        ...(user.credits === undefined ? {} : { credits_remaining: user.credits }),
      })
      .returning("*");
    return row as UserRow;
  } catch (err) {
    throw asUniqueViolation(err) ?? err;
  }
}

export function findUserByLogin(db: Knex, login: string): Promise<UserRow | undefined> {
  return db("users").where("username", login).orWhere("email", login.toLowerCase()).first();
}

export function findUserById(db: Knex, id: number): Promise<UserRow | undefined> {
  return db("users").where({ id }).first();
}

export async function insertApiKey(db: Knex, userId: number, hash: string, prefix: string, name = "default"): Promise<void> {
  await db("api_keys").insert({ user_id: userId, key_hash: hash, key_prefix: prefix, name });
}

export async function findUserByApiKeyHash(db: Knex, hash: string): Promise<UserRow | undefined> {
  return db("users")
    .join("api_keys", "api_keys.user_id", "users.id")
    .where("api_keys.key_hash", hash)
    .whereNull("api_keys.revoked_at")
    .first("users.*");
}

export async function latestApiKeyPrefix(db: Knex, userId: number): Promise<string | undefined> {
  const row = await db("api_keys").where({ user_id: userId }).whereNull("revoked_at").orderBy("id", "desc").first("key_prefix");
  return row?.key_prefix;
}

/** Users in id order, one page at a time, and how many there are. */
export async function listUsers(db: Knex, page: number, pageSize: number): Promise<{ rows: UserRow[]; total: number }> {
  const [{ total }] = (await db("users").count({ total: "*" })) as [{ total: string | number }];
  const rows: UserRow[] = await db("users").orderBy("id").limit(pageSize).offset((page - 1) * pageSize);
  return { rows, total: Number(total) };
}

/** The largest balance the `credits_remaining` column (a Postgres integer) holds. */
export const MAX_CREDITS = 2_147_483_647;

/**
 * Adds `credits` to a user's balance in one statement, so concurrent charges and allocations all
 * count. Returns the updated row; `undefined` when there is no such user, `"overflow"` when the
 * balance would pass MAX_CREDITS (nothing is changed then).
 */
export async function addCredits(db: Knex, userId: number, credits: number): Promise<UserRow | undefined | "overflow"> {
  const [row] = await db("users")
    .where({ id: userId })
    .andWhere("credits_remaining", "<=", MAX_CREDITS - credits)
    .increment("credits_remaining", credits)
    .returning("*");
  if (row) return row as UserRow;
  return (await findUserById(db, userId)) ? "overflow" : undefined;
}
