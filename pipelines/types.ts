import type { Knex } from "knex";
import type { Config } from "../src/config.ts";
import type { Logger } from "../src/log.ts";
import type { Metrics } from "../src/metrics.ts";
import type { ModelRegistry } from "../src/models/index.ts";
import type { BatchHandler, Bus, StreamNames } from "../src/streams/index.ts";

export interface PipelineDeps {
  db: Knex;
  bus: Bus;
  registry: ModelRegistry;
  metrics: Metrics;
  log: Logger;
  config: Config;
}

/** A stateful consumer: which messages it takes, how many at once, and its batch handler. */
export interface PipelineDefinition {
  name: string;
  /** the stream it reads, whole (see src/streams/topology.ts for why never a filtered part) */
  stream(names: StreamNames): string;
  batchSize: number;
  /** 1 for pipelines whose per-key state needs stream order */
  maxInFlightBatches: number;
  /** per-key state: a failing batch is retried in place so later events never overtake it */
  ordered: boolean;
  /**
   * ordered pipelines whose keys share no state (no row, cache entry or statistic is written for
   * two keys): batches of different keys run side by side in this many lanes (ConsumerRunner)
   */
  lanes?: number;
  createHandler(deps: PipelineDeps): BatchHandler;
}
