import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DatasetError, readCsv } from "../../src/training/csv.ts";
import { loadTelco, TELCO_DIR, TELCO_FILE } from "../../src/training/datasets/telco.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "tidecast-csv-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fixture(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** Reads `file` expecting a DatasetError; returns it. */
async function failure(file: string, options = {}): Promise<DatasetError> {
  try {
    await readCsv(file, options);
  } catch (error) {
    assert.ok(error instanceof DatasetError, `expected DatasetError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${file} was read without error`);
}

describe("readCsv", () => {
  it("reads rows keyed by header, with the line each came from", async () => {
    const file = await fixture("ok.csv", "a,b\n1,x\n\n2,\"y, z\"\n");
    const table = await readCsv(file);
    assert.deepEqual(table.header, ["a", "b"]);
    assert.deepEqual(table.rows, [
      { a: "1", b: "x" },
      { a: "2", b: "y, z" },
    ]);
    assert.deepEqual(table.lines, [2, 4]);
  });

  it("names the file and line of a row with too few fields", async () => {
    const file = await fixture("short.csv", "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n");
    const error = await failure(file);
    assert.equal(error.file, file);
    assert.equal(error.line, 4);
    assert.ok(error.message.startsWith(`${file}:4: malformed CSV`), error.message);
  });

  it("names the file and line of a row with too many fields", async () => {
    const file = await fixture("long.csv", "a,b\n1,2\n3,4,5\n");
    const error = await failure(file);
    assert.equal(error.line, 3);
    assert.match(error.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: `));
  });

  it("names the file and a line for an unclosed quote", async () => {
    const file = await fixture("quote.csv", 'a,b\n1,"open\n2,3\n');
    const error = await failure(file);
    assert.equal(error.file, file);
    assert.equal(typeof error.line, "number");
    assert.ok(error.message.includes(`${file}:${error.line}:`), error.message);
    assert.match(error.message, /Quote Not Closed/);
  });

  it("names a missing file", async () => {
    const file = join(dir, "nope.csv");
    const error = await failure(file);
    assert.equal(error.message, `${file}: file not found`);
  });

  it("names the file and line 1 for a bad header", async () => {
    const missing = await failure(await fixture("cols.csv", "a,b\n1,2\n"), { requiredColumns: ["a", "c"] });
    assert.equal(missing.message, `${join(dir, "cols.csv")}:1: header lacks column(s) c`);
    const duplicate = await failure(await fixture("dup.csv", "a,a\n1,2\n"));
    assert.equal(duplicate.line, 1);
    const empty = await failure(await fixture("empty.csv", ""));
    assert.equal(empty.line, 1);
  });
});

describe("loadTelco", () => {
  const header =
    "customerID,gender,SeniorCitizen,Partner,Dependents,tenure,PhoneService,MultipleLines,InternetService,OnlineSecurity,OnlineBackup,DeviceProtection,TechSupport,StreamingTV,StreamingMovies,Contract,PaperlessBilling,PaymentMethod,MonthlyCharges,TotalCharges,Churn";
  const row = (churn: string, total = "29.85") =>
    `7590-VHVEG,Female,0,Yes,No,1,No,No phone service,DSL,No,Yes,No,No,No,No,Month-to-month,Yes,Electronic check,29.85,${total},${churn}`;

  async function datasets(lines: string[]): Promise<string> {
    const root = await mkdtemp(join(dir, "datasets-"));
    await mkdir(join(root, TELCO_DIR));
    await writeFile(join(root, TELCO_DIR, TELCO_FILE), `${[header, ...lines].join("\n")}\n`);
    return root;
  }

  it("maps columns to snake_case features and Churn to 0/1", async () => {
    const data = await loadTelco(await datasets([row("No"), row("Yes", " ")]));
    assert.deepEqual([...data.labels], [0, 1]);
    assert.equal(data.rows[0]!["contract_type"], "Month-to-month");
    assert.equal(data.rows[0]!["senior_citizen"], "0");
    assert.equal(data.rows[1]!["total_charges"], " ");
    assert.equal(Object.keys(data.rows[0]!).length, 19);
    assert.match(data.origin(1), /:3$/);
  });

  it("names the file and line of a bad label", async () => {
    const root = await datasets([row("No"), row("No"), row("maybe")]);
    await assert.rejects(loadTelco(root), (error: unknown) => {
      assert.ok(error instanceof DatasetError);
      assert.equal(error.line, 4);
      assert.equal(error.message, `${join(root, TELCO_DIR, TELCO_FILE)}:4: Churn is "maybe", expected "Yes" or "No"`);
      return true;
    });
  });

  it("names the missing dataset file", async () => {
    const root = await mkdtemp(join(dir, "empty-"));
    await assert.rejects(loadTelco(root), new RegExp(`${TELCO_FILE}: file not found`));
  });
});
