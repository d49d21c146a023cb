import type { Knex } from "knex";

/** What the churn pipeline remembers about one customer between events. */
export interface CustomerState {
  customerId: string;
  /** the latest value of every model feature seen for this customer */
  profile: Record<string, unknown>;
  /** events seen, per event type */
  counters: Record<string, number>;
  /** EVENTS stream sequence of the last applied event; older or equal ones are skips */
  lastSeq: number;
  eventsSeen: number;
  churnProbability: number | null;
  riskLevel: string | null;
  modelVersion: string | null;
  scoredAt: Date | null;
}

export function emptyState(customerId: string): CustomerState {
  return {
    customerId,
    profile: {},
    counters: {},
    lastSeq: 0,
    eventsSeen: 0,
    churnProbability: null,
    riskLevel: null,
    modelVersion: null,
    scoredAt: null,
  };
}

/**
 * Locks the states of `ids` for this transaction, creating missing rows first so that two
 * processes handling a new customer at once serialise on its row instead of both starting empty.
 */
export async function lockStates(trx: Knex.Transaction, ids: readonly string[]): Promise<Map<string, CustomerState>> {
  const sorted = [...ids].sort();
  await trx("customer_state")
    .insert(sorted.map((customer_id) => ({ customer_id })))
    .onConflict("customer_id")
    .ignore();
  const rows = await trx("customer_state").whereIn("customer_id", sorted).orderBy("customer_id").forUpdate();
  return new Map(
    rows.map((r) => [
      r.customer_id,
      {
        customerId: r.customer_id,
        profile: r.profile,
        counters: r.counters,
        lastSeq: r.last_seq,
        eventsSeen: r.events_seen,
        churnProbability: r.churn_probability,
        riskLevel: r.risk_level,
        modelVersion: r.model_version,
        scoredAt: r.scored_at,
      } satisfies CustomerState,
    ]),
  );
}

export async function saveStates(trx: Knex.Transaction, states: readonly CustomerState[]): Promise<void> {
  if (states.length === 0) return;
  await trx("customer_state")
    .insert(
      states.map((s) => ({
        customer_id: s.customerId,
        profile: JSON.stringify(s.profile),
        counters: JSON.stringify(s.counters),
        last_seq: s.lastSeq,
        events_seen: s.eventsSeen,
        churn_probability: s.churnProbability,
        risk_level: s.riskLevel,
        model_version: s.modelVersion,
        scored_at: s.scoredAt,
        updated_at: trx.fn.now(),
      })),
    )
    .onConflict("customer_id")
    .merge();
}
