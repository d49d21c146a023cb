import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
export async function up(knex: Knex): Promise<void> {
  // The documents below are json, not jsonb: the pipeline rewrites them whole for every customer of
  // every batch and reads them whole, never querying inside them. json input only checks the text,
  // while jsonb parses it into its binary form: measured on a 1,000-event batch, converting the
  // states and recommendations to jsonb cost the database more than the rest of those two writes.
  await knex.schema.createTable("interaction_state", (t) => {
    t.string("customer_id", 128).primary();
    // recent items, most recent first: [{item_id, weight}] (pipelines/recommendations/interaction.ts)
    t.json("history").notNullable().defaultTo("[]");
    // item ids bought, most recent first: never recommended again
    t.json("purchased").notNullable().defaultTo("[]");
    // events seen, per event type
    t.json("counters").notNullable().defaultTo("{}");
    // last applied EVENTS_INTERACTION stream sequence: an event at or below it was already applied
    t.bigInteger("last_seq").notNullable().defaultTo(0);
    t.integer("events_seen").notNullable().defaultTo(0);
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // every batch rewrites the rows of the customers it touched: room on each page lets Postgres
  // keep a row's new version beside the old one (a HOT update) instead of adding an index entry
  await knex.raw("ALTER TABLE ?? SET (fillfactor = 70)", ["interaction_state"]);

  await knex.schema.createTable("item_stats", (t) => {
    // item ids are printable ASCII (validated by the pipeline), so byte order ("C") is JS string order
    t.string("item_id", 128).primary();
    t.bigInteger("views").notNullable().defaultTo(0);
    t.bigInteger("carts").notNullable().defaultTo(0);
    t.bigInteger("purchases").notNullable().defaultTo(0);
    t.bigInteger("ratings_sum").notNullable().defaultTo(0);
    t.bigInteger("ratings_count").notNullable().defaultTo(0);
    // Σ event weights (POPULARITY_WEIGHT in pipelines/recommendations/interaction.ts)
    t.bigInteger("popularity").notNullable().defaultTo(0);
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // the live top items, read once per batch in the pipeline's tie order
  await knex.raw(`CREATE INDEX item_stats_popularity_idx ON ?? (popularity DESC, item_id COLLATE "C")`, ["item_stats"]);

  await knex.schema.createTable("recommendations", (t) => {
    t.string("customer_id", 128).primary();
    // best first: [{item_id, score, reason}]
    t.json("items").notNullable().defaultTo("[]");
    t.string("model", 100).notNullable();
    t.string("model_version", 50).notNullable();
    // the customer's last applied event when these were computed
    t.bigInteger("stream_seq").notNullable();
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw("ALTER TABLE ?? SET (fillfactor = 70)", ["recommendations"]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("recommendations");
  await knex.schema.dropTableIfExists("item_stats");
  await knex.schema.dropTableIfExists("interaction_state");
}
