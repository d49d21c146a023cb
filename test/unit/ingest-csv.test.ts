import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { headerFromSample, readCsvRecords, sniffDelimiter } from "../../src/ingest/csv.ts";

async function records(chunks: string[]): Promise<{ rows: string[][]; bytes: number }> {
  const csv = readCsvRecords(Readable.from(chunks.map((c) => Buffer.from(c))));
  const rows: string[][] = [];
  for await (const batch of csv.batches) rows.push(...batch);
  return { rows, bytes: csv.bytesRead() };
}

describe("reading an uploaded CSV", () => {
  it("takes the header line's delimiter: a comma, or a semicolon or tab when it holds more of those", () => {
    assert.equal(sniffDelimiter("customerID,tenure,MonthlyCharges\n1;2;3;4;5"), ",", "only the first line counts");
    assert.equal(sniffDelimiter('"age";"job";"emp.var.rate";"a,b"'), ";", "a quoted comma is not a delimiter");
    assert.equal(sniffDelimiter("a\tb\tc"), "\t");
    assert.equal(sniffDelimiter("text"), ",");
    assert.deepEqual(headerFromSample(Buffer.from('"age";"job";"y"\n56;"housemaid";"no"\n'), true), ["age", "job", "y"]);
  });

  it("reads a semicolon file whose header arrives in pieces, and keeps a comma file's semicolons inside fields", async () => {
    const bank = await records(['\ufeff"age";"jo', 'b";"y"', '\n56;"housemaid";"no"\n', '41;"blue-collar";"yes"\n']);
    assert.deepEqual(bank.rows, [["age", "job", "y"], ["56", "housemaid", "no"], ["41", "blue-collar", "yes"]]);
    const text = "items,customer\n85123A;71053,c-1\n";
    const retail = await records([text]);
    assert.deepEqual(retail.rows, [["items", "customer"], ["85123A;71053", "c-1"]]);
    assert.equal(retail.bytes, Buffer.byteLength(text));
  });

  it("reads a file of one line without a newline", async () => {
    assert.deepEqual((await records(["a;b"])).rows, [["a", "b"]]);
  });
});
