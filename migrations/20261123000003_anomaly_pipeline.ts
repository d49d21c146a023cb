import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
export async function up(knex: Knex): Promise<void> {
  // Per-series state of the anomaly pipeline, written in the same transaction as its anomalies.
  await knex.schema.createTable("series_state", (t) => {
    t.string("series_id", 128).primary();
    // the detector state without its history (settings, counters, ring-buffer head); null until the first point
    t.jsonb("state");
    // the first chunk of the history (see series_history), kept here so that a short series is one row
    t.binary("history_first");
    // last applied EVENTS_METRIC stream sequence: a point at or below it was already applied
    t.bigInteger("last_seq").notNullable().defaultTo(0);
    t.bigInteger("points_seen").notNullable().defaultTo(0);
    t.timestamp("last_timestamp", { useTz: true });
    // points whose timestamp was earlier than the one before them (applied in stream order regardless)
    t.bigInteger("late_points").notNullable().defaultTo(0);
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // The detector's history (its ring buffer, float64 little-endian: bit-exact), cut into chunks so that
  // a batch rewrites only the chunks its points changed, not the whole 24 kB history of each series.
  // Chunk 0 is series_state.history_first; this table holds chunks 1 and up.
  await knex.schema.createTable("series_history", (t) => {
    t.string("series_id", 128).notNullable().references("series_state.series_id").onDelete("CASCADE");
    t.integer("chunk").notNullable();
    t.binary("points").notNullable();
    t.primary(["series_id", "chunk"]);
  });

  await knex.schema.createTable("anomalies", (t) => {
    t.bigIncrements("id").primary();
    t.string("series_id", 128).notNullable();
    t.string("message_id", 200).notNullable().unique();
    t.timestamp("ts", { useTz: true }).notNullable();
    t.double("value").notNullable();
    // the detector's recent level (mean of the previous block of points) and that block's standard deviation
    t.double("expected").notNullable();
    t.double("stddev").notNullable();
    // lowest and highest value in the detector's history
    t.double("lower").notNullable();
    t.double("upper").notNullable();
    t.double("score").notNullable();
    t.enu("severity", ["low", "medium", "high", "critical"]).notNullable();
    t.text("explanation").notNullable();
    t.bigInteger("stream_seq").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["series_id", "ts"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("anomalies");
  await knex.schema.dropTableIfExists("series_history");
  await knex.schema.dropTableIfExists("series_state");
}
