/** Every trainer, by model name. Add a trainer here and `npm run train <name>` knows it. */
import { churnTelco } from "./trainers/churn-telco.ts";
import { creditDefault } from "./trainers/credit-default.ts";
import { leadConversion } from "./trainers/lead-conversion.ts";
import { machineFailure } from "./trainers/machine-failure.ts";
import { customerSegments } from "./trainers/customer-segments.ts";
import { recommendRetail } from "./trainers/recommend-retail.ts";
import { salesForecast } from "./trainers/sales-forecast.ts";
import { sentiment } from "./trainers/sentiment.ts";
import { leadScoring } from "./trainers/lead-scoring.ts";
import { b2bLeadScore } from "./trainers/b2b-lead-score.ts";
import type { TrainerEntry } from "./trainer.ts";

export const TRAINERS: readonly TrainerEntry[] = [churnTelco, leadConversion, creditDefault, machineFailure, customerSegments, recommendRetail, salesForecast, sentiment, leadScoring, b2bLeadScore];

export function findTrainer(name: string): TrainerEntry | undefined {
  return TRAINERS.find((t) => t.name === name);
}
