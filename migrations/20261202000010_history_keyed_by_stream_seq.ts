import type { Knex } from "knex";

// Append-only: never edit once applied; add a new migration instead.
//
// churn_history and lead_scores get one row per applied event, and each row paid for three
// indexes: a serial id nobody reads, a unique message_id (the redelivery guard) and (key,
// stream_seq) for reading a key's history. One event is one stream sequence of one key, so
// (key, stream_seq) can be the primary key and the guard at once; message_id stays as a plain
// column. It is also the truer guard: an event published again after the stream's duplicate
// window is a new message with a new sequence that the state applies again, and its score row
// now lands beside it instead of being dropped. Inserting 100,000 rows in batches of 4,000, the
// way the pipelines write them, cost Postgres 830–990 CPU-ms with the one key against
// 1,300–1,480 with the three indexes (three alternating rounds on scratch tables).
const TABLES = [
  { table: "churn_history", key: "customer_id" },
  { table: "lead_scores", key: "lead_id" },
] as const;

export async function up(knex: Knex): Promise<void> {
  for (const { table, key } of TABLES) {
    // only possible if history outlived a reset of its stream (sequences start again at 1)
    const duplicate = await knex(table).select(key, "stream_seq").groupBy(key, "stream_seq").havingRaw("count(*) > 1").first();
    if (duplicate) {
      throw new Error(
        `${table} holds more than one row for ${key} ${duplicate[key]} at stream_seq ${duplicate.stream_seq}: ` +
          `(${key}, stream_seq) cannot become its primary key. Remove the rows of the earlier stream, then migrate again.`,
      );
    }
    await knex.raw(`ALTER TABLE ?? DROP CONSTRAINT ??, DROP COLUMN id, ADD PRIMARY KEY (??, stream_seq)`, [table, `${table}_message_id_unique`, key]);
    await knex.schema.alterTable(table, (t) => t.dropIndex([key, "stream_seq"]));
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const { table, key } of TABLES) {
    await knex.raw(`ALTER TABLE ?? DROP CONSTRAINT ??`, [table, `${table}_pkey`]);
    await knex.schema.alterTable(table, (t) => {
      t.bigIncrements("id").primary();
      t.unique(["message_id"]);
      t.index([key, "stream_seq"]);
    });
  }
}
