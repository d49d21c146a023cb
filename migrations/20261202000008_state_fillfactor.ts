import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
//
// Every churn and lead batch rewrites the rows of the keys it touched: room on each page lets
// Postgres keep a row's new version beside the old one (a HOT update) instead of adding an entry
// to every index, as interaction_state already does. Applies to pages written from now on.
export async function up(knex: Knex): Promise<void> {
  for (const table of ["customer_state", "lead_state"]) await knex.raw("ALTER TABLE ?? SET (fillfactor = 70)", [table]);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ["customer_state", "lead_state"]) await knex.raw("ALTER TABLE ?? RESET (fillfactor)", [table]);
}
