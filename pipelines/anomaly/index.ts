import { EVENTS_IN_FLIGHT, type PipelineDefinition } from "../types.ts";
import { createAnomalyHandler } from "./handler.ts";

export { ANOMALY_ALERT_TYPE } from "./handler.ts";

const LANES = 2;

/** Per-series state needs stream order per series: one batch at a time in each of two lanes of series. */
export const anomalyPipeline: PipelineDefinition = {
  name: "anomaly",
  stream: (names) => names.events("metric"),
  batchSize: EVENTS_IN_FLIGHT / LANES,
  maxInFlightBatches: 1,
  ordered: true,
  lanes: LANES,
  createHandler: createAnomalyHandler,
};
