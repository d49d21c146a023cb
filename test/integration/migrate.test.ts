import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDb } from "../../src/db/knex.ts";
import { migrateLatest, SchemaTooNewError } from "../../src/db/migrate.ts";
import { dropIsolated, isolatedConfig } from "../helpers/env.ts";

describe("migrations (real Postgres)", () => {
  it("run once when several processes start together on an empty schema", async () => {
    const cfg = isolatedConfig();
    // one knex per "process": each has its own pool, as separate processes would
    const dbs = [1, 2, 3].map(() => createDb({ url: cfg.DATABASE_URL, schema: cfg.DATABASE_SCHEMA, poolMax: 2 }));
    try {
      const applied = await Promise.all(dbs.map((db) => migrateLatest(db, cfg.DATABASE_SCHEMA)));
      const counts = applied.map((a) => a.length).sort((a, b) => a - b);
      assert.equal(counts[0], 0);
      assert.equal(counts[1], 0);
      assert.ok(counts[2]! > 0, "one process applied every migration");
      const rows = await dbs[0]!.withSchema(cfg.DATABASE_SCHEMA).from("knex_migrations").count<{ n: string }[]>({ n: "*" });
      assert.equal(Number(rows[0]!.n), counts[2]);
    } finally {
      await Promise.all(dbs.map((db) => db.destroy()));
      await dropIsolated(cfg);
    }
  });

  it("refuses a schema migrated by a newer release", async () => {
    const cfg = isolatedConfig();
    const db = createDb({ url: cfg.DATABASE_URL, schema: cfg.DATABASE_SCHEMA, poolMax: 2 });
    try {
      await migrateLatest(db, cfg.DATABASE_SCHEMA);
      await db.withSchema(cfg.DATABASE_SCHEMA).table("knex_migrations").insert({ name: "29991231000000_future.ts", batch: 99, migration_time: new Date() });
      await assert.rejects(migrateLatest(db, cfg.DATABASE_SCHEMA), SchemaTooNewError);
    } finally {
      await db.destroy();
      await dropIsolated(cfg);
    }
  });
});
