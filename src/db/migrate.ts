import { readdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { Knex } from "knex";
import { ROOT_DIR } from "../config.ts";

export const MIGRATIONS_DIR = resolve(ROOT_DIR, "migrations");

export class SchemaTooNewError extends Error {
  override name = "SchemaTooNewError";
}

/**
 * Creates the schema if needed and applies pending migrations, so several processes starting
 * together migrate once. knex's own migration lock lives in a table that the first migration
 * creates, so two processes starting on an empty schema would both create it (and one fail): a
 * Postgres advisory lock, held by a transaction on its own connection, serialises the whole step.
 * Refuses a database that has migrations this code does not know (it was migrated by a newer
 * release).
 */
export async function migrateLatest(db: Knex, schema: string): Promise<string[]> {
  const lock = await db.transaction();
  try {
    await lock.raw("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [`tidecast:migrate:${schema}`]);
    return await migrateUnlocked(db, schema);
  } finally {
    await lock.rollback();
  }
}

async function migrateUnlocked(db: Knex, schema: string): Promise<string[]> {
  await db.raw("CREATE SCHEMA IF NOT EXISTS ??", [schema]);
  const config: Knex.MigratorConfig = { directory: MIGRATIONS_DIR, schemaName: schema, loadExtensions: [".ts"] };
  // read the table itself: knex's migrate.list throws its own "directory is corrupt" error first
  const completed: Array<{ name: string }> = (await db.schema.withSchema(schema).hasTable("knex_migrations"))
    ? await db.withSchema(schema).select("name").from("knex_migrations")
    : [];
  const known = new Set((await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".ts")));
  const unknown = completed.map((m) => m.name).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new SchemaTooNewError(
      `database schema "${schema}" has migrations this code does not know (${unknown.join(", ")}); run a newer Tidecast`,
    );
  }
  const [, applied] = (await db.migrate.latest(config)) as [number, string[]];
  return applied;
}
