import { requireCredits, type Principal } from "../auth/index.ts";
import { AppError, PredictionTimeoutError, ValidationError } from "../errors.ts";
import type { PredictRequest } from "./messages.ts";
import { sendPrediction, type PredictDeps, type PredictSuccess } from "./request.ts";

/** Most rows one batch may carry (the body size limit may bound it first). */
export const MAX_BATCH_ROWS = 1000;

/** One row's outcome, at its index in the request. */
export type BatchItem =
  | { index: number; status: "completed"; prediction: PredictSuccess }
  /** queued, not answered in time: poll the prediction id */
  | { index: number; status: "pending"; prediction_id: string }
  | { index: number; status: "failed"; error: { code: string; message: string; details: Record<string, unknown> } };

/**
 * Many predictions of one model in one call (seed 001's batch-predict, seed 002's score/batch).
 * Every row is checked against the card before any is published, so a batch holding a bad row is
 * refused whole (422, the fields named `instances[i].<field>` or as `rowPath` says) and a fixed
 * batch can simply be sent again. The rows then go through the stream like single predictions, all
 * at once so the scorer batches them; each is stored and charged one credit on its own.
 */
export async function requestPredictions(
  deps: PredictDeps,
  input: {
    model: string;
    rows: readonly Record<string, unknown>[];
    principal: Principal;
    source: PredictRequest["source"];
    /** how an error names row i's features in the caller's body; `instances[i]` by default */
    rowPath?: (index: number) => string;
  },
): Promise<BatchItem[]> {
  const rowPath = input.rowPath ?? ((i: number) => `instances[${i}]`);
  const model = deps.registry.get(input.model);
  const errors: Record<string, string[]> = {};
  let invalid = 0;
  input.rows.forEach((features, i) => {
    const check = model.encoder(features);
    if (check.ok) return;
    invalid++;
    for (const [field, messages] of Object.entries(check.errors)) errors[`${rowPath(i)}.${field}`] = messages;
  });
  if (invalid > 0) throw new ValidationError(`${invalid} of ${input.rows.length} instances have invalid features; none was scored`, errors);
  requireCredits(input.principal, input.rows.length);
  return Promise.all(
    input.rows.map(async (features, index): Promise<BatchItem> => {
      try {
        return { index, status: "completed", prediction: await sendPrediction(deps, model, { features, principal: input.principal, source: input.source }) };
      } catch (err) {
        if (err instanceof PredictionTimeoutError) return { index, status: "pending", prediction_id: err.details.prediction_id as string };
        if (err instanceof AppError) return { index, status: "failed", error: { code: err.code, message: err.message, details: err.details } };
        throw err;
      }
    }),
  );
}
