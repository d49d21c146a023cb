import knexFactory, { type Knex } from "knex";
import pg from "pg";

// BIGINT (stream sequences, counts) fits a JS number for every value this system produces
// (< 2^53); parse it as a number rather than knex's default string.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface DbOptions {
  url: string;
  schema: string;
  poolMax: number;
}

/** A knex instance whose search_path is the Tidecast schema, so queries name tables unqualified. */
export function createDb(options: DbOptions): Knex {
  return knexFactory({
    client: "pg",
    connection: options.url,
    searchPath: [options.schema, "public"],
    pool: { min: 0, max: options.poolMax },
    acquireConnectionTimeout: 10_000,
  });
}

export type { Knex };
