import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
//
// A/B tests (seed 004's `/api/admin/models/ab-test`): while one runs, the scorer sends `split` %
// of a model's predictions to version B and the rest to the active version A. Ended tests are
// kept, so their results (the predictions of each version between start and end) stay readable.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("model_ab_tests", (t) => {
    t.increments("id").primary();
    t.integer("model_id").notNullable().references("models.id").onDelete("CASCADE");
    t.string("version_a", 50).notNullable();
    t.string("version_b", 50).notNullable();
    t.integer("split").notNullable().checkBetween([1, 99]);
    t.enu("status", ["running", "ended"]).notNullable().defaultTo("running");
    t.timestamp("started_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.integer("started_by").references("users.id").onDelete("SET NULL");
    t.timestamp("ended_at", { useTz: true });
    t.integer("ended_by").references("users.id").onDelete("SET NULL");
    t.string("end_reason", 200);
    t.index(["model_id", "started_at"]);
  });
  // one running test per model
  await knex.raw("CREATE UNIQUE INDEX model_ab_tests_one_running ON model_ab_tests (model_id) WHERE status = 'running'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("model_ab_tests");
}
