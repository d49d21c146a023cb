import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
export async function up(knex: Knex): Promise<void> {
  // One row per CSV import (src/ingest). The id is derived from the file's SHA-256, the target and
  // the owner, so uploading the same file again finds this row instead of importing twice.
  await knex.schema.createTable("imports", (t) => {
    t.uuid("id").primary();
    t.integer("user_id").references("users.id").onDelete("SET NULL");
    t.integer("tenant_id").references("tenants.id");
    t.string("file_name", 255).notNullable();
    t.string("sha256", 64).notNullable();
    t.bigInteger("size_bytes").notNullable();
    // predict:<model> or events:<domain>
    t.string("target", 120).notNullable();
    // the upload store object holding the bytes until the import has run
    t.string("object_name", 64).notNullable();
    // queued, running, completed, failed
    t.string("status", 20).notNullable().defaultTo("queued");
    t.integer("rows_total").notNullable().defaultTo(0);
    t.integer("rows_published").notNullable().defaultTo(0);
    t.integer("rows_rejected").notNullable().defaultTo(0);
    // the data-quality report (src/ingest/quality.ts), written when the import completes
    t.jsonb("report");
    t.text("error");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("started_at", { useTz: true });
    t.timestamp("finished_at", { useTz: true });
    t.index(["user_id", "created_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("imports");
}
