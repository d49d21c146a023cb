import type { EventDomain, EventEnvelope } from "../../../src/streams/index.ts";
import { interactionEvents } from "../../fixtures/interaction-events.ts";
import { leadEvents } from "../../fixtures/lead-events.ts";
import { metricEvents } from "../../fixtures/metric-events.ts";
import { customerEvents } from "./events.ts";

/** One pipeline's drain measurement: what to pre-fill and how to count what it has applied. */
export interface DrainCase {
  /** the pipeline, run alone as ROLE=<pipeline> */
  pipeline: string;
  domain: EventDomain;
  events(n: number, keys: number): EventEnvelope[];
  /** a query returning `n`, the events applied so far, in the given schema */
  appliedSql(schema: string): string;
  /** the table whose existence shows the child has migrated */
  table: string;
}

export const DRAIN_CASES: readonly DrainCase[] = [
  {
    pipeline: "churn",
    domain: "customer",
    events: customerEvents,
    // every bench event completes its profile, so each one leaves a history row
    appliedSql: (schema) => `SELECT count(*)::int AS n FROM "${schema}".churn_history`,
    table: "churn_history",
  },
  {
    pipeline: "lead",
    domain: "lead",
    events: leadEvents,
    appliedSql: (schema) => `SELECT coalesce(sum(events_seen), 0)::int AS n FROM "${schema}".lead_state`,
    table: "lead_state",
  },
  {
    pipeline: "anomaly",
    domain: "metric",
    events: metricEvents,
    appliedSql: (schema) => `SELECT coalesce(sum(points_seen), 0)::int AS n FROM "${schema}".series_state`,
    table: "series_state",
  },
  {
    pipeline: "recommendations",
    domain: "interaction",
    events: interactionEvents,
    appliedSql: (schema) => `SELECT coalesce(sum(events_seen), 0)::int AS n FROM "${schema}".interaction_state`,
    table: "interaction_state",
  },
];
