/**
 * A model version on disk: `<modelsDir>/<name>/<version>/{model.onnx, card.json, parity.json}`.
 */
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelCardSchema, type ModelCard } from "../models/card.ts";
import type { ParityFile, TrainedModel } from "./trainer.ts";

export const MODEL_FILE = "model.onnx";
export const CARD_FILE = "card.json";
export const PARITY_FILE = "parity.json";

export function modelDir(modelsDir: string, name: string, version: string): string {
  return join(modelsDir, name, version);
}

/** Writes each file to a temporary name first, so a reader never sees half a file. */
async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function writeModelArtifacts(modelsDir: string, model: TrainedModel): Promise<string> {
  const dir = modelDir(modelsDir, model.card.name, model.card.version);
  await mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, MODEL_FILE), model.onnx);
  await writeAtomic(join(dir, PARITY_FILE), `${JSON.stringify(model.parity, null, 2)}\n`);
  // the card last: its presence marks a complete version
  await writeAtomic(join(dir, CARD_FILE), `${JSON.stringify(model.card, null, 2)}\n`);
  return dir;
}

export async function readCard(dir: string): Promise<ModelCard> {
  const path = join(dir, CARD_FILE);
  const parsed = ModelCardSchema.safeParse(JSON.parse(await readFile(path, "utf8")));
  if (!parsed.success) {
    throw new Error(`${path}: not a valid model card: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}

export async function readParity(dir: string): Promise<ParityFile> {
  return JSON.parse(await readFile(join(dir, PARITY_FILE), "utf8")) as ParityFile;
}

/** Every `<name>/<version>` directory under `modelsDir` that holds a card, sorted. */
export async function listModelDirs(modelsDir: string): Promise<{ name: string; version: string; dir: string }[]> {
  const found: { name: string; version: string; dir: string }[] = [];
  const names = await readdir(modelsDir, { withFileTypes: true }).catch(() => []);
  for (const name of names.filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    const versions = await readdir(join(modelsDir, name), { withFileTypes: true });
    for (const version of versions.filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
      const dir = join(modelsDir, name, version);
      const files = await readdir(dir);
      if (files.includes(CARD_FILE)) found.push({ name, version, dir });
    }
  }
  return found;
}
