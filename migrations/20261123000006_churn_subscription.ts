import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
//
// The churn pipeline scores a customer with one of several models (churn_subscription when the
// subscription profile is complete, else churn_telco), so state and history record which one.
// Every score written before this migration came from churn_telco.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("customer_state", (t) => {
    t.string("model", 100);
    // the latest applied event's own timestamp: the customer's last activity, not our processing time
    t.timestamp("last_event_at", { useTz: true });
    // the latest score's key factors, so a customer (or all high-risk ones) is read from this table alone
    t.jsonb("key_factors").notNullable().defaultTo("[]");
  });
  await knex("customer_state").whereNotNull("model_version").update({ model: "churn_telco" });
  await knex.raw(`
    UPDATE customer_state AS s SET key_factors = h.key_factors
      FROM (SELECT DISTINCT ON (customer_id) customer_id, key_factors FROM churn_history ORDER BY customer_id, stream_seq DESC) AS h
     WHERE s.customer_id = h.customer_id`);

  await knex.schema.alterTable("churn_history", (t) => {
    t.string("model", 100);
  });
  await knex("churn_history").update({ model: "churn_telco" });
  await knex.schema.alterTable("churn_history", (t) => {
    t.string("model", 100).notNullable().alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("churn_history", (t) => {
    t.dropColumn("model");
  });
  await knex.schema.alterTable("customer_state", (t) => {
    t.dropColumn("key_factors");
    t.dropColumn("last_event_at");
    t.dropColumn("model");
  });
}
