import type { PredictionOutput } from "../models/index.ts";
import { z } from "zod";

/** The body of a `predict.<model>` message: what REST, CSV and producers publish to ask for a score. */
export const PredictRequestSchema = z.object({
  /** the caller's id for this prediction; derived from the stream sequence when absent */
  prediction_id: z.uuid().optional(),
  features: z.record(z.string(), z.unknown()),
  source: z.enum(["sync", "async", "batch", "csv", "event"]).default("event"),
  user_id: z.number().int().nullable().optional(),
  tenant_id: z.number().int().nullable().optional(),
  requested_at: z.iso.datetime({ offset: true }).optional(),
});
export type PredictRequest = z.infer<typeof PredictRequestSchema>;

/** What the scorer answers on the request's reply subject. */
export type PredictReply =
  | {
      status: "ok";
      prediction_id: string;
      model: string;
      model_version: string;
      output: PredictionOutput;
      warnings: readonly string[];
      created_at: string;
    }
  | { status: "error"; prediction_id?: string; code: string; message: string; details: Record<string, unknown> };
