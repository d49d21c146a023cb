import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT_DIR } from "../../src/config.ts";
import type { ModelCard } from "../../src/models/card.ts";
import { inputContractChanges } from "../../src/models/input-contract.ts";
import { readCard } from "../../src/training/index.ts";

const card = (model: string, version: string) => readCard(join(ROOT_DIR, "models", model, version));
const edited = (base: ModelCard, edit: (copy: ModelCard) => void): ModelCard => {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
};

describe("a model version's input contract", () => {
  it("is the same across the shipped versions of a model, whatever their algorithm and ranges", async () => {
    for (const [model, versions] of [["churn_telco", ["1.0.0", "1.1.0", "1.2.0"]], ["lead_conversion", ["1.0.0", "1.1.0", "1.2.0"]], ["machine_failure", ["1.0.0", "1.1.0", "1.2.0"]]] as const) {
      const [first, ...rest] = await Promise.all(versions.map((v) => card(model, v)));
      for (const other of rest) assert.deepEqual(inputContractChanges(first!, other), [], `${model} ${other.version}`);
    }
  });

  it("names every change a client would notice, and none it would not", async () => {
    const base = await card("churn_telco", "1.1.0");
    const changed = edited(base, (c) => {
      c.features = c.features.filter((f) => f.name !== "dependents");
      c.features.push({ ...c.features[0]!, name: "region", aliases: undefined });
      const tenure = c.features.find((f) => f.name === "tenure")!;
      tenure.type = "number";
      tenure.min = 1; // a range is the serving version's own business
      const contract = c.features.find((f) => f.name === "contract_type")!;
      contract.aliases = ["contract", "Contract"];
      contract.categories = [...contract.categories!, "Three year"];
      c.features.find((f) => f.name === "payment_method")!.required = true;
      c.ignored_columns = c.ignored_columns!.filter((col) => col.name !== "churn");
    });
    assert.deepEqual(inputContractChanges(base, changed), [
      "drops feature dependents",
      "tenure: type integer → number",
      "contract_type: aliases [contract] → [Contract, contract]",
      "payment_method: now required",
      "adds feature region",
      "ignored columns [churn, customer_id] → [customer_id]",
    ]);
  });

  it("includes a text feature's length limit", async () => {
    const base = await card("sentiment", "1.0.0");
    const shorter = edited(base, (c) => {
      c.features[0]!.max_length = 500;
    });
    assert.deepEqual(inputContractChanges(base, shorter), [`text: max_length ${base.features[0]!.max_length ?? null} → 500`]);
  });
});
