import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
//
// json, not jsonb, for the churn pipeline's per-customer documents: the pipeline writes and reads
// them whole and nothing queries inside them, so converting them to jsonb on every write was work
// for nothing (as for the lead pipeline's state). key_factors stays jsonb: the customers API
// aggregates over it.
export async function up(knex: Knex): Promise<void> {
  for (const column of ["profile", "counters"]) {
    await knex.raw(`ALTER TABLE customer_state ALTER COLUMN ?? DROP DEFAULT, ALTER COLUMN ?? TYPE json USING ??::json, ALTER COLUMN ?? SET DEFAULT '{}'::json`, [column, column, column, column]);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const column of ["profile", "counters"]) {
    await knex.raw(`ALTER TABLE customer_state ALTER COLUMN ?? DROP DEFAULT, ALTER COLUMN ?? TYPE jsonb USING ??::jsonb, ALTER COLUMN ?? SET DEFAULT '{}'::jsonb`, [column, column, column, column]);
  }
}
