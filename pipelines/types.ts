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

/**
 * Events a stateful pipeline's process works on at once when a backlog waits (its lanes' batches
 * together). These pipelines do their per-key work (state write, rescoring) once per key per batch,
 * so the larger the batch, the more events share it: on the bench's 50,000 events over 5,000 keys,
 * alternating runs drained recommendations at 10.8k and 12.3k events/s with 4,000 against 7.9k and
 * 9.0k with 1,000, and churn and lead 3–17 % faster with 2 × 2,000 than with 2 × 1,000. At a low
 * rate a batch is whatever has arrived, so this costs no latency; under a backlog a lane computes a
 * few tens of milliseconds between awaits, which is what a process that also serves HTTP (ROLE=all)
 * has to share.
 */
export const EVENTS_IN_FLIGHT = 4_000;

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
