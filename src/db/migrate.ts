import { readdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { Knex } from "knex";
import { ROOT_DIR } from "../config.ts";

export const MIGRATIONS_DIR = resolve(ROOT_DIR, "migrations");

export class SchemaTooNewError extends Error {
  override name = "SchemaTooNewError";
}

/**
 * Creates the schema if needed and applies pending migrations under knex's migration lock, so
 * several processes starting together migrate once. Refuses a database that has migrations this
 * code does not know (it was migrated by a newer release).
 */
export async function migrateLatest(db: Knex, schema: string): Promise<string[]> {
  await db.raw("CREATE SCHEMA IF NOT EXISTS ??", [schema]);
  const config: Knex.MigratorConfig = { directory: MIGRATIONS_DIR, schemaName: schema, loadExtensions: [".ts"] };
  const [completed] = (await db.migrate.list(config)) as [Array<{ name: string }>, unknown];
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
