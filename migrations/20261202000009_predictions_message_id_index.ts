import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
//
// No query looks predictions up by message_id (the scorer writes by prediction id, the API reads by
// id, user, model or date), so its index was only work: one of five index entries written with every
// prediction. A scorer statement of 8 rows cost Postgres 0.87–1.10 CPU-ms without it against
// 1.03–1.30 with it (seven rounds, alternating, in a scratch copy of the table).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("predictions", (t) => t.dropIndex(["message_id"]));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("predictions", (t) => t.index(["message_id"]));
}
