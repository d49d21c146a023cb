import { ModelCardSchema, type ModelCard } from "../../models/card.ts";

/** The card of a model trained on generated rows records its generator and that generator's own AUC: the ceiling. */
export function withGenerator(card: ModelCard, generator: object, oracleAuc: number): ModelCard {
  return ModelCardSchema.parse({
    ...card,
    training: {
      ...card.training,
      hyperparameters: { ...card.training.hyperparameters, synthetic_generator: generator, oracle_validation_auc: Number(oracleAuc.toFixed(6)) },
    },
  });
}

/** The generator's row count and seed a card records, so the rows it was trained on can be made again. */
export function generatorOf(card: ModelCard): { rows: number; seed: number } | undefined {
  const generator = card.training.hyperparameters["synthetic_generator"] as { rows?: number; seed?: number } | undefined;
  if (typeof generator?.rows !== "number" || typeof generator.seed !== "number") return undefined;
  return { rows: generator.rows, seed: generator.seed };
}
