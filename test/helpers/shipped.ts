import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT_DIR } from "../../src/config.ts";
import type { ModelCard } from "../../src/models/index.ts";

export interface ShippedVersion {
  model: string;
  version: string;
  card: ModelCard;
  /** the trainer's own scores of validation rows (parity.json) */
  parity: { tolerance: number; rows: Array<{ features: Record<string, unknown>; probability: number }> };
}

const MODELS = join(ROOT_DIR, "models");

/** The newest shipped version of a model: the one the registry serves. */
export function shippedVersion(model: string): ShippedVersion {
  const version = readdirSync(join(MODELS, model))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
    .at(-1)!;
  const read = (file: string) => JSON.parse(readFileSync(join(MODELS, model, version, file), "utf8"));
  return { model, version, card: read("card.json") as ModelCard, parity: read("parity.json") as ShippedVersion["parity"] };
}

/** Every shipped model's newest version. */
export function shippedVersions(): ShippedVersion[] {
  return readdirSync(MODELS).map(shippedVersion);
}
