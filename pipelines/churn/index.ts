import type { PipelineDefinition } from "../types.ts";
import { createChurnHandler } from "./handler.ts";

export { CHURN_MODELS } from "./models.ts";

/** Per-customer state needs stream order: one batch at a time per process. */
export const churnPipeline: PipelineDefinition = {
  name: "churn",
  stream: (names) => names.events("customer"),
  batchSize: 1000,
  maxInFlightBatches: 1,
  ordered: true,
  createHandler: createChurnHandler,
};
