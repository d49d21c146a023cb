import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("tenants", (t) => {
    t.increments("id").primary();
    t.string("name", 100).notNullable().unique();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex("tenants").insert({ name: "default" });

  await knex.schema.createTable("users", (t) => {
    t.increments("id").primary();
    t.integer("tenant_id").notNullable().references("tenants.id");
    t.string("username", 50).notNullable().unique();
    t.string("email", 254).notNullable().unique();
    t.string("password_hash", 255).notNullable();
    t.enu("role", ["admin", "operator", "analyst", "user"]).notNullable().defaultTo("user");
    t.string("plan", 30).notNullable().defaultTo("basic");
    t.integer("credits_remaining").notNullable().defaultTo(1000);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable("api_keys", (t) => {
    t.increments("id").primary();
    t.integer("user_id").notNullable().references("users.id").onDelete("CASCADE");
    // sha256 of the key: keys are random 192-bit values, so a fast hash is safe and lookups stay O(1)
    t.string("key_hash", 64).notNullable().unique();
    t.string("key_prefix", 16).notNullable();
    t.string("name", 100).notNullable().defaultTo("default");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("last_used_at", { useTz: true });
    t.timestamp("revoked_at", { useTz: true });
  });

  await knex.schema.createTable("models", (t) => {
    t.increments("id").primary();
    t.string("name", 100).notNullable().unique();
    t.string("display_name", 200).notNullable();
    t.text("description").notNullable().defaultTo("");
    t.string("task", 50).notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable("model_versions", (t) => {
    t.increments("id").primary();
    t.integer("model_id").notNullable().references("models.id").onDelete("CASCADE");
    t.string("version", 50).notNullable();
    t.jsonb("card").notNullable();
    t.string("artifact_sha256", 64).notNullable();
    t.boolean("is_active").notNullable().defaultTo(false);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("activated_at", { useTz: true });
    t.unique(["model_id", "version"]);
  });
  // at most one active version per model
  await knex.raw("CREATE UNIQUE INDEX model_versions_one_active ON model_versions (model_id) WHERE is_active");

  await knex.schema.createTable("predictions", (t) => {
    // derived from the message (the caller's prediction id, or the stream sequence), so a
    // redelivered message finds its row and writes nothing twice
    t.uuid("id").primary();
    t.string("message_id", 200).notNullable().index();
    t.string("model", 100).notNullable();
    t.string("model_version", 50).notNullable();
    t.string("source", 20).notNullable();
    t.integer("tenant_id").references("tenants.id");
    t.integer("user_id").references("users.id").onDelete("SET NULL");
    t.string("status", 20).notNullable();
    t.jsonb("input").notNullable();
    t.jsonb("output");
    t.jsonb("error");
    t.double("score");
    t.double("latency_ms");
    t.bigInteger("stream_seq");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["created_at"]);
    t.index(["model", "created_at"]);
    t.index(["user_id", "created_at"]);
  });

  // Per-customer state of the churn pipeline, written in the same transaction as its results.
  await knex.schema.createTable("customer_state", (t) => {
    t.string("customer_id", 128).primary();
    t.jsonb("profile").notNullable().defaultTo("{}");
    t.jsonb("counters").notNullable().defaultTo("{}");
    // last applied EVENTS stream sequence: an event at or below it was already applied
    t.bigInteger("last_seq").notNullable().defaultTo(0);
    t.integer("events_seen").notNullable().defaultTo(0);
    t.double("churn_probability");
    t.string("risk_level", 10);
    t.string("model_version", 50);
    t.timestamp("scored_at", { useTz: true });
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["risk_level"]);
  });

  await knex.schema.createTable("churn_history", (t) => {
    t.bigIncrements("id").primary();
    t.string("customer_id", 128).notNullable();
    t.string("message_id", 200).notNullable().unique();
    t.string("event_type", 50).notNullable();
    t.double("churn_probability").notNullable();
    t.string("risk_level", 10).notNullable();
    t.string("model_version", 50).notNullable();
    t.jsonb("key_factors").notNullable().defaultTo("[]");
    t.bigInteger("stream_seq").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["customer_id", "stream_seq"]);
  });

  await knex.schema.createTable("alerts", (t) => {
    t.uuid("id").primary();
    // derived from the cause, so an alert raised twice by a redelivery is stored once
    t.string("dedup_key", 200).notNullable().unique();
    t.string("type", 50).notNullable();
    t.enu("severity", ["low", "medium", "high", "critical"]).notNullable();
    t.string("source", 50).notNullable();
    t.string("entity_type", 50).notNullable();
    t.string("entity_id", 200).notNullable();
    t.text("message").notNullable();
    t.jsonb("data").notNullable().defaultTo("{}");
    t.enu("status", ["open", "acknowledged", "resolved"]).notNullable().defaultTo("open");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("acknowledged_at", { useTz: true });
    t.integer("acknowledged_by").references("users.id").onDelete("SET NULL");
    t.timestamp("resolved_at", { useTz: true });
    // outbox: set once the alert is on the ALERTS stream; unset rows are relayed on start
    t.timestamp("published_at", { useTz: true });
    t.index(["status", "created_at"]);
    t.index(["entity_type", "entity_id"]);
  });
  await knex.raw("CREATE INDEX alerts_unpublished ON alerts (created_at) WHERE published_at IS NULL");
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    "alerts",
    "churn_history",
    "customer_state",
    "predictions",
    "model_versions",
    "models",
    "api_keys",
    "users",
    "tenants",
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
