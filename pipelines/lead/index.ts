import { EVENTS_IN_FLIGHT, type PipelineDefinition } from "../types.ts";
import { createLeadHandler } from "./handler.ts";

export { HOT_ALERT, HOT_TIER } from "./handler.ts";
export { B2B_MODEL, FALLBACK_MODEL } from "./features.ts";

const LANES = 2;

/** Per-lead state needs stream order per lead: one batch at a time in each of two lanes of leads. */
export const leadPipeline: PipelineDefinition = {
  name: "lead",
  stream: (names) => names.events("lead"),
  batchSize: EVENTS_IN_FLIGHT / LANES,
  maxInFlightBatches: 1,
  ordered: true,
  lanes: LANES,
  createHandler: createLeadHandler,
};
