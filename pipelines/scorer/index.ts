import type { PipelineDefinition } from "../types.ts";
import { createScorerHandler } from "./handler.ts";

export { PredictRequestSchema } from "../../src/predictions/index.ts";
export type { PredictReply, PredictRequest } from "../../src/predictions/index.ts";

/** Stateless: batches are scored concurrently; their writes are grouped, one statement in flight per process. */
export const scorerPipeline: PipelineDefinition = {
  name: "scorer",
  stream: (names) => names.predict,
  batchSize: 256,
  maxInFlightBatches: 4,
  ordered: false,
  createHandler: createScorerHandler,
};
