import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("lead_state", (t) => {
    t.string("lead_id", 128).primary();
    // json, not jsonb: the pipeline writes and reads these documents whole and never queries inside
    // them, so converting them to jsonb would be work for nothing (pipelines/lead/README.md, "Throughput")
    // engagement aggregates folded from the lead's events (pipelines/lead/aggregates.ts)
    t.json("aggregates").notNullable().defaultTo("{}");
    // the latest value of every profile field (firmographics, source, product interest)
    t.json("profile").notNullable().defaultTo("{}");
    // events seen, per event type (unknown types included)
    t.json("counters").notNullable().defaultTo("{}");
    // last applied EVENTS_LEAD stream sequence: an event at or below it was already applied
    t.bigInteger("last_seq").notNullable().defaultTo(0);
    t.integer("events_seen").notNullable().defaultTo(0);
    t.double("score");
    // A–E from b2b_lead_score's score buckets; null while scored by lead_scoring (no buckets)
    t.string("tier", 10);
    t.string("model", 100);
    t.string("model_version", 50);
    t.timestamp("scored_at", { useTz: true });
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["tier"]);
  });

  await knex.schema.createTable("lead_scores", (t) => {
    t.bigIncrements("id").primary();
    t.string("lead_id", 128).notNullable();
    t.string("message_id", 200).notNullable().unique();
    t.string("event_type", 64).notNullable();
    t.double("score").notNullable();
    t.string("tier", 10);
    t.string("model", 100).notNullable();
    t.string("model_version", 50).notNullable();
    t.bigInteger("stream_seq").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["lead_id", "stream_seq"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("lead_scores");
  await knex.schema.dropTableIfExists("lead_state");
}
