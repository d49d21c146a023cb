import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DatasetError } from "../../src/training/csv.ts";
import { AI4I_DIR, AI4I_FILE, loadAi4i } from "../../src/training/datasets/ai4i.ts";
import { BANK_DIR, BANK_FILE, loadBank } from "../../src/training/datasets/bank.ts";
import { CREDIT_DIR, CREDIT_FILE, loadCredit } from "../../src/training/datasets/credit.ts";
import { leadConversion } from "../../src/training/trainers/lead-conversion.ts";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "tidecast-gbdt-data-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes `<root>/<case>/<dir>/<file>` and returns the datasets directory `<root>/<case>`. */
let cases = 0;
async function datasets(dir: string, file: string, text: string): Promise<string> {
  const base = join(root, `case${cases++}`);
  await mkdir(join(base, dir), { recursive: true });
  await writeFile(join(base, dir, file), text);
  return base;
}

async function datasetError(promise: Promise<unknown>): Promise<DatasetError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DatasetError, `expected DatasetError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a DatasetError");
}

const BANK_HEADER =
  '"age";"job";"marital";"education";"default";"housing";"loan";"contact";"month";"day_of_week";"duration";"campaign";"pdays";"previous";"poutcome";"emp.var.rate";"cons.price.idx";"cons.conf.idx";"euribor3m";"nr.employed";"y"';
const bankRow = (y: string) => `56;"housemaid";"married";"basic.4y";"no";"no";"no";"telephone";"may";"mon";261;1;999;0;"nonexistent";1.1;93.994;-36.4;4.857;5191;"${y}"`;

describe("dataset loaders for the tree models", () => {
  it("bank: reads the ;-separated file into snake_case features without duration", async () => {
    const dir = await datasets(BANK_DIR, BANK_FILE, [BANK_HEADER, bankRow("no"), bankRow("yes")].join("\r\n") + "\r\n");
    const data = await loadBank(dir);
    assert.deepEqual(Array.from(data.labels), [0, 1]);
    assert.equal(data.rows[0]!["emp_var_rate"], "1.1");
    assert.equal(data.rows[0]!["nr_employed"], "5191");
    assert.ok(!("duration" in data.rows[0]!));
    assert.equal(data.origin(1), `${join(dir, BANK_DIR, BANK_FILE)}:3`);
  });

  it("bank: a bad label or a malformed line names the file and the line", async () => {
    let dir = await datasets(BANK_DIR, BANK_FILE, [BANK_HEADER, bankRow("no"), bankRow("maybe")].join("\n"));
    let error = await datasetError(loadBank(dir));
    assert.equal(error.line, 3);
    assert.match(error.message, new RegExp(`${BANK_FILE}:3: y is "maybe"`));
    dir = await datasets(BANK_DIR, BANK_FILE, [BANK_HEADER, bankRow("no"), '56;"housemaid";"married"'].join("\n"));
    error = await datasetError(loadBank(dir));
    assert.equal(error.file, join(dir, BANK_DIR, BANK_FILE));
    assert.match(error.message, new RegExp(`${BANK_FILE}:3`));
    error = await datasetError(loadBank(join(root, "nowhere")));
    assert.match(error.message, /bank-additional-full\.csv: file not found/);
  });

  it("credit: reads either header style and drops the id", async () => {
    const values = "2,120000,2,2,2,26,-1,2,0,0,0,2,2682,1725,2682,3272,3455,3261,0,1000,1000,1000,0,2000,1";
    const xs = `ID,${Array.from({ length: 23 }, (_, i) => `X${i + 1}`).join(",")},Y`;
    const named =
      "ID,LIMIT_BAL,SEX,EDUCATION,MARRIAGE,AGE,PAY_0,PAY_2,PAY_3,PAY_4,PAY_5,PAY_6," +
      "BILL_AMT1,BILL_AMT2,BILL_AMT3,BILL_AMT4,BILL_AMT5,BILL_AMT6,PAY_AMT1,PAY_AMT2,PAY_AMT3,PAY_AMT4,PAY_AMT5,PAY_AMT6,default.payment.next.month";
    for (const header of [xs, named]) {
      const data = await loadCredit(await datasets(CREDIT_DIR, CREDIT_FILE, `${header}\r\n${values}\r\n`));
      assert.deepEqual(Array.from(data.labels), [1]);
      assert.equal(Object.keys(data.rows[0]!).length, 23);
      assert.equal(data.rows[0]!["limit_bal"], "120000");
      assert.equal(data.rows[0]!["pay_0"], "-1");
      assert.equal(data.rows[0]!["pay_amt6"], "2000");
    }
    const error = await datasetError(loadCredit(await datasets(CREDIT_DIR, CREDIT_FILE, `${xs.replace(",X5", ",AGE")}\n${values}\n`)));
    assert.equal(error.line, 1);
    assert.match(error.message, /header lacks column\(s\) X5/);
  });

  it("ai4i: strips the BOM and leaves identifiers and failure modes out", async () => {
    const header = "\uFEFFUDI,Product ID,Type,Air temperature [K],Process temperature [K],Rotational speed [rpm],Torque [Nm],Tool wear [min],Machine failure,TWF,HDF,PWF,OSF,RNF";
    const dir = await datasets(AI4I_DIR, AI4I_FILE, `${header}\n1,M14860,M,298.1,308.6,1551,42.8,0,0,0,0,0,0,0\n2,L47181,L,298.2,308.7,1408,46.3,3,1,0,1,0,0,0\n`);
    const data = await loadAi4i(dir);
    assert.deepEqual(Array.from(data.labels), [0, 1]);
    assert.deepEqual(data.rows[1], {
      type: "L",
      air_temperature_k: "298.2",
      process_temperature_k: "308.7",
      rotational_speed_rpm: "1408",
      torque_nm: "46.3",
      tool_wear_min: "3",
    });
    const bad = await datasets(AI4I_DIR, AI4I_FILE, `${header}\n1,M14860,M,298.1,308.6,1551,42.8,0,yes,0,0,0,0,0\n`);
    assert.equal((await datasetError(loadAi4i(bad))).line, 2);
  });

  it("a trainer given a value that is not a number names the file and line", async () => {
    const rows = [BANK_HEADER];
    for (let i = 0; i < 40; i++) rows.push(bankRow(i % 4 === 0 ? "yes" : "no"));
    rows[7] = rows[7]!.replace(";261;1;", ";261;many;");
    const dir = await datasets(BANK_DIR, BANK_FILE, rows.join("\n"));
    await assert.rejects(leadConversion.train({ datasetsDir: dir, log: () => {} }), new RegExp(`${BANK_FILE}:8: .*campaign`));
  });
});
