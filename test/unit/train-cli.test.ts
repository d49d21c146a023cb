import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ROOT_DIR } from "../../src/config.ts";

const run = promisify(execFile);

/** `npm run train` as a user runs it, with no datasets: the synthetic models need none. */
async function train(modelsDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, MODELS_DIR: modelsDir, DATASETS_DIR: join(modelsDir, "no-datasets") };
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/training/cli.ts", ...args], { cwd: ROOT_DIR, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("npm run train", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tidecast-train-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("trains models side by side in child processes, writing what one process writes", async () => {
    const out = join(dir, "parallel");
    const { code, stdout, stderr } = await train(out, "lead_scoring", "churn_subscription", "--workers", "2");
    assert.equal(code, 0, stderr);
    assert.match(stderr, /^training 2 models, 2 at a time$/m);
    assert.match(stderr, /^trained 2 models in [\d.]+ s$/m);
    assert.deepEqual(stdout.trim().split("\n").sort(), [join(out, "churn_subscription", "1.0.0"), join(out, "lead_scoring", "1.0.0")]);
    // deterministic trainers: the artifacts are the ones shipped
    for (const model of ["lead_scoring", "churn_subscription"]) {
      for (const file of ["model.onnx", "parity.json"]) {
        const written = await readFile(join(out, model, "1.0.0", file));
        assert.ok(written.equals(await readFile(join(ROOT_DIR, "models", model, "1.0.0", file))), `${model}/${file} differs from the shipped one`);
      }
    }
  });

  it("starts no model after one fails, names the file it could not read and exits 1", async () => {
    const out = join(dir, "failing");
    // both workers take a model whose dataset is missing, so the third can start only if a failure is ignored
    const { code, stderr } = await train(out, "sales_forecast", "demand_forecast", "lead_scoring", "--workers", "2");
    assert.equal(code, 1);
    assert.match(stderr, /DatasetError: .*no-datasets\/advertising\/Advertising\.csv: cannot read/);
    assert.match(stderr, /^train: failed: (sales_forecast@1\.0\.0, demand_forecast@1\.0\.0|demand_forecast@1\.0\.0, sales_forecast@1\.0\.0) /m);
    assert.doesNotMatch(stderr, /lead_scoring/);
    assert.deepEqual(await readdir(out).catch(() => []), []);
  });

  it("refuses an unknown model or worker count with exit code 2", async () => {
    assert.equal((await train(join(dir, "x"), "no_such_model")).code, 2);
    const { code, stderr } = await train(join(dir, "x"), "lead_scoring", "--workers", "0");
    assert.equal(code, 2);
    assert.match(stderr, /--workers must be a positive integer/);
  });
});
