import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
//
// Admins switch a model's served version through the API: who did it is recorded beside when, so
// a change in scores can be traced to the switch and its author. Null for a version the platform
// activated itself (a model's first start).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("model_versions", (t) => {
    t.integer("activated_by").nullable().references("users.id").onDelete("SET NULL");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("model_versions", (t) => t.dropColumn("activated_by"));
}
