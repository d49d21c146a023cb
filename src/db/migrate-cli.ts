import { loadConfig } from "../config.ts";
import { createDb } from "./knex.ts";
import { migrateLatest } from "./migrate.ts";

const config = loadConfig();
const db = createDb({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: 2 });
try {
  const applied = await migrateLatest(db, config.DATABASE_SCHEMA);
  console.log(applied.length ? `applied: ${applied.join(", ")}` : `schema "${config.DATABASE_SCHEMA}" is up to date`);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
