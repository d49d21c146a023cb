import type { FeatureSpec, ModelCard } from "./card.ts";

/**
 * What a model's clients depend on: the fields a request may hold, under which names, of which
 * type, which are required, and the dataset columns accepted and ignored. Versions of a model that
 * share it can replace each other behind the model's name (the seed routes' schemas are built from
 * it once, at start); a version that changes it is a new contract, whose clients must change too.
 * Ranges, categories and defaults may differ: the serving version's encoder applies its own card.
 */
export function inputContractChanges(from: ModelCard, to: ModelCard): string[] {
  const changes: string[] = [];
  const before = new Map(from.features.map((f) => [f.name, f]));
  const after = new Map(to.features.map((f) => [f.name, f]));
  for (const name of before.keys()) if (!after.has(name)) changes.push(`drops feature ${name}`);
  for (const [name, f] of after) {
    const old = before.get(name);
    if (!old) {
      changes.push(`adds feature ${name}`);
      continue;
    }
    if (old.type !== f.type) changes.push(`${name}: type ${old.type} → ${f.type}`);
    if (old.required !== f.required) changes.push(`${name}: ${f.required ? "now required" : "now optional"}`);
    if (names(old.aliases) !== names(f.aliases)) changes.push(`${name}: aliases [${names(old.aliases)}] → [${names(f.aliases)}]`);
    if (textLimit(old) !== textLimit(f)) changes.push(`${name}: max_length ${textLimit(old)} → ${textLimit(f)}`);
  }
  const ignoredBefore = names(from.ignored_columns?.map((c) => c.name));
  const ignoredAfter = names(to.ignored_columns?.map((c) => c.name));
  if (ignoredBefore !== ignoredAfter) changes.push(`ignored columns [${ignoredBefore}] → [${ignoredAfter}]`);
  return changes;
}

const names = (list: readonly string[] | undefined): string => [...(list ?? [])].sort().join(", ");

const textLimit = (f: FeatureSpec): number | null => (f.type === "text" ? (f.max_length ?? null) : null);
