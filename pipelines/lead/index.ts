import type { PipelineDefinition } from "../types.ts";
import { createLeadHandler } from "./handler.ts";

export { HOT_ALERT, HOT_TIER } from "./handler.ts";
export { B2B_MODEL, FALLBACK_MODEL } from "./features.ts";

/** Per-lead state needs stream order: one batch at a time per process. */
export const leadPipeline: PipelineDefinition = {
  name: "lead",
  stream: (names) => names.events("lead"),
  batchSize: 1000,
  maxInFlightBatches: 1,
  ordered: true,
  createHandler: createLeadHandler,
};
