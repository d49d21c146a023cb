/**
 * Every trainer, by model name. Add a trainer here and `npm run train <name>` knows it.
 *
 * `TRAINERS` holds the current version of each model: `npm run train` (all) and `npm run train
 * <name>` train it. Earlier versions whose artifacts stay shipped keep their trainer entry in
 * `EARLIER_TRAINERS`, so `npm run train <name>@<version>` reproduces exactly that version (and
 * overwrites only its own directory).
 */
import { churnTelco, churnTelcoV1_0_0, churnTelcoV1_1_0 } from "./trainers/churn-telco.ts";
import { creditDefault } from "./trainers/credit-default.ts";
import { demandForecast } from "./trainers/demand-forecast.ts";
import { leadConversion, leadConversionV1_0_0, leadConversionV1_1_0 } from "./trainers/lead-conversion.ts";
import { machineFailure, machineFailureV1_0_0, machineFailureV1_1_0 } from "./trainers/machine-failure.ts";
import { customerSegments } from "./trainers/customer-segments.ts";
import { recommendRetail } from "./trainers/recommend-retail.ts";
import { salesForecast } from "./trainers/sales-forecast.ts";
import { sentiment } from "./trainers/sentiment.ts";
import { leadScoring } from "./trainers/lead-scoring.ts";
import { b2bLeadScore } from "./trainers/b2b-lead-score.ts";
import { churnSubscription } from "./trainers/churn-subscription.ts";
import { compareVersions } from "../models/registry.ts";
import type { TrainerEntry } from "./trainer.ts";

/**
 * Slowest first (lead_conversion ~110 s, recommend_retail ~60 s, churn_telco ~55 s, the rest under
 * 15 s each here): `npm run train` takes them in this order on one worker per core, and starting
 * the long ones first keeps one of them from ending the run alone.
 */
export const TRAINERS: readonly TrainerEntry[] = [leadConversion, recommendRetail, churnTelco, creditDefault, machineFailure, customerSegments, demandForecast, b2bLeadScore, sentiment, churnSubscription, leadScoring, salesForecast];

/** Trainers of earlier, still shipped versions: only trained when asked for as `<name>@<version>`. */
export const EARLIER_TRAINERS: readonly TrainerEntry[] = [churnTelcoV1_0_0, churnTelcoV1_1_0, leadConversionV1_0_0, leadConversionV1_1_0, machineFailureV1_0_0, machineFailureV1_1_0];

/**
 * `name` → the model's current trainer; `name@version` → the trainer of exactly that version
 * (current or earlier); undefined when there is none. Evaluating a shipped card of any version can
 * use the current trainer: `evaluationSet` rebuilds the rows from the card's own split seed.
 */
export function findTrainer(ref: string): TrainerEntry | undefined {
  const at = ref.lastIndexOf("@");
  if (at < 0) return TRAINERS.find((t) => t.name === ref);
  const name = ref.slice(0, at);
  const version = ref.slice(at + 1);
  return [...TRAINERS, ...EARLIER_TRAINERS].find((t) => t.name === name && t.version === version);
}

/** Every version of `name` that can be trained, newest first. */
export function trainerVersions(name: string): TrainerEntry[] {
  return [...TRAINERS, ...EARLIER_TRAINERS].filter((t) => t.name === name).sort((a, b) => compareVersions(b.version, a.version));
}

