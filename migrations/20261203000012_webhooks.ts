import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
//
// Webhooks (seeds 000, 003 and 004): a user's endpoints and the events each receives, and one row
// per delivery of a platform event to an endpoint. A delivery's key is (webhook, notice), so a
// notice redelivered by the stream is delivered once.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("webhooks", (t) => {
    t.uuid("id").primary();
    t.integer("user_id").notNullable().references("users.id").onDelete("CASCADE");
    t.text("url").notNullable();
    t.specificType("events", "text[]").notNullable();
    // the HMAC key: kept as given, since every delivery is signed with it
    t.string("secret", 200).notNullable();
    t.string("description", 500).notNullable().defaultTo("");
    t.boolean("active").notNullable().defaultTo(true);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["user_id"]);
  });
  // the dispatcher's lookup: the active endpoints subscribed to an event
  await knex.raw("CREATE INDEX webhooks_events ON webhooks USING gin (events) WHERE active");

  await knex.schema.createTable("webhook_deliveries", (t) => {
    t.uuid("id").primary();
    t.uuid("webhook_id").notNullable().references("webhooks.id").onDelete("CASCADE");
    t.string("notice_id", 200).notNullable();
    t.string("event", 50).notNullable();
    // json, not jsonb: the body is sent with its keys in the order written (event before data)
    t.json("payload").notNullable();
    t.enu("status", ["pending", "delivered", "failed", "cancelled"]).notNullable().defaultTo("pending");
    t.integer("attempts").notNullable().defaultTo(0);
    t.integer("response_status");
    t.text("last_error");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("last_attempt_at", { useTz: true });
    t.timestamp("delivered_at", { useTz: true });
    t.unique(["webhook_id", "notice_id"]);
    t.index(["webhook_id", "created_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("webhook_deliveries");
  await knex.schema.dropTable("webhooks");
}
