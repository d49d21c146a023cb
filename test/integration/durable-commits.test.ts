import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ASYNC_COMMIT, DurableCommits } from "../../src/db/durable-commits.ts";
import { createDb, type Knex } from "../../src/db/knex.ts";
import { SERVICES } from "../helpers/env.ts";

describe("DurableCommits against real PostgreSQL", () => {
  let db: Knex;
  const barriers: string[] = [];
  before(() => {
    db = createDb({ url: SERVICES.postgres, schema: "public", poolMax: 4 });
    db.on("query", (q: { sql: string }) => {
      if (q.sql.includes("pg_logical_emit_message")) barriers.push(q.sql);
    });
  });
  after(() => db.destroy());

  it("resolves once the WAL is on disk up to asynchronous commits made before the call, whatever else writes meanwhile", async () => {
    const lsn = async (fn: string) => String((await db.raw(`SELECT ${fn}() AS lsn`)).rows[0].lsn);
    const commits = new DurableCommits(db, 0);
    // other sessions' asynchronous commits keep the WAL moving past what is flushed
    let writing = true;
    const others = (async () => {
      while (writing) await db.raw(`SELECT pg_current_xact_id(), ${ASYNC_COMMIT}`);
    })();
    const behind: string[] = [];
    for (let i = 0; i < 20; i++) {
      const committed = await db.raw(`SELECT pg_current_xact_id() AS xid, ${ASYNC_COMMIT} AS mode`);
      assert.equal(committed.rows[0].mode, "off");
      // the commit record above lies before the current insert position
      const written = await lsn("pg_current_wal_insert_lsn");
      await commits.flushed();
      const flushed = await lsn("pg_current_wal_flush_lsn");
      const gap = Number((await db.raw("SELECT ?::pg_lsn - ?::pg_lsn AS gap", [written, flushed])).rows[0].gap);
      if (gap > 0) behind.push(`flushed to ${flushed}, written to ${written}`);
    }
    writing = false;
    await others;
    assert.deepEqual(behind, []);
  });

  it("shares one flush between the callers of one interval, and flushes again for later ones", async () => {
    const commits = new DurableCommits(db, 100);
    barriers.length = 0;
    await Promise.all(Array.from({ length: 5 }, () => commits.flushed()));
    assert.equal(barriers.length, 1);
    await commits.flushed();
    assert.equal(barriers.length, 2);
  });

  it("rejects when the flushing commit fails", async () => {
    const broken = createDb({ url: SERVICES.postgres, schema: "public", poolMax: 1 });
    await broken.destroy();
    await assert.rejects(new DurableCommits(broken, 0).flushed());
  });
});
