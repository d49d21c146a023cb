/** Every trainer, by model name. Add a trainer here and `npm run train <name>` knows it. */
import { churnTelco } from "./trainers/churn-telco.ts";
import type { TrainerEntry } from "./trainer.ts";

export const TRAINERS: readonly TrainerEntry[] = [churnTelco];

export function findTrainer(name: string): TrainerEntry | undefined {
  return TRAINERS.find((t) => t.name === name);
}
