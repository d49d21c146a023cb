import type { LoadedModel, ModelRegistry } from "../../src/models/index.ts";

/**
 * The churn models, most preferred first. A customer is scored by the first one whose required
 * features its profile holds: the subscription model reads recent behaviour (watch time, logins,
 * payment failures), so when both profiles are complete it describes the customer better than
 * the telco model's contract and billing fields. A model not shipped is left out.
 */
export const CHURN_MODELS = ["churn_subscription", "churn_telco"] as const;

/** One model's share of a batch: its encoded rows, packed. */
export interface ModelRows {
  model: LoadedModel;
  flat: Float32Array;
  rows: number;
}

/** The outcome of folding one event's update into a profile. */
export type Fold =
  /** the index in `scorers` of the model that scores the profile, or -1 while no model's profile is complete */
  | { ok: true; scorer: number }
  /** the event's own fields have invalid values: apply nothing */
  | { ok: false; error: string };

interface Plan {
  features: ReadonlySet<string>;
  required: readonly string[];
  target: ModelRows;
}

/**
 * The churn models of one batch, with a buffer of `capacity` rows each. `fold` validates an
 * update against every model that owns one of its fields and encodes the candidate profile for
 * the model that will score it; `commit` then takes that row.
 */
export class ChurnScorers {
  readonly scorers: ModelRows[];
  /**
   * the fields of an event that update a profile → the profile field each sets: every feature of
   * every model, and its aliases (an event may say `contract` for `contract_type`)
   */
  private readonly fields: ReadonlyMap<string, string>;
  private readonly plans: Plan[];

  constructor(registry: ModelRegistry, capacity: number) {
    const shipped = CHURN_MODELS.filter((name) => registry.has(name));
    // none shipped: get() throws the same MODEL_NOT_FOUND the pipeline always gave
    const models = shipped.length > 0 ? shipped.map((name) => registry.get(name)) : [registry.get(CHURN_MODELS[CHURN_MODELS.length - 1]!)];
    this.scorers = models.map((model) => ({ model, flat: new Float32Array(capacity * model.encoder.width), rows: 0 }));
    this.plans = this.scorers.map((target) => ({
      features: new Set(target.model.card.features.map((f) => f.name)),
      required: target.model.card.features.filter((f) => f.required).map((f) => f.name),
      target,
    }));
    this.fields = new Map(models.flatMap((m) => m.card.features.flatMap((f) => [f.name, ...(f.aliases ?? [])].map((name) => [name, f.name] as const))));
  }

  /**
   * The profile field an event's data key sets: by a feature's name or alias, or else by another
   * spelling of one (`MonthlyCharges`, `contractType`), matched as the models' encoders match a
   * request's fields; undefined for a key that sets none.
   */
  fieldOf(key: string): string | undefined {
    const exact = this.fields.get(key);
    if (exact !== undefined) return exact;
    for (const { model } of this.scorers) {
      const name = model.encoder.resolveField(key);
      const field = name === undefined ? undefined : this.fields.get(name);
      if (field !== undefined) return field;
    }
    return undefined;
  }

  /**
   * Checks `update` (already merged into `candidate`) and encodes `candidate` into the next free
   * row of the first model it completes, without taking that row: a later invalid event reuses it.
   */
  fold(candidate: Record<string, unknown>, update: Record<string, unknown>): Fold {
    let scorer = -1;
    let problems: string[] | null = null;
    const updated = Object.keys(update);
    for (let m = 0; m < this.plans.length; m++) {
      const plan = this.plans[m]!;
      const touched = updated.some((field) => plan.features.has(field));
      // Encoding an incomplete profile only to learn that it is incomplete allocates its errors;
      // at 10k+ events/s a cheap presence check first keeps that off the common path.
      if (!touched && (scorer >= 0 || !plan.required.every((name) => candidate[name] !== undefined && candidate[name] !== null))) continue;
      const { target } = plan;
      const { model } = target;
      const outcome = model.encoder.encodeInto(ownFields(candidate, plan.features), target.flat, target.rows * model.encoder.width);
      if (outcome.ok) {
        if (scorer < 0) scorer = m;
        continue;
      }
      for (const field of Object.keys(outcome.errors)) {
        if (field in update) (problems ??= []).push(`${field}: ${outcome.errors[field]!.join(", ")}`);
      }
    }
    // two models never share a field today; should they, the same message is reported once
    return problems ? { ok: false, error: `invalid ${[...new Set(problems)].join("; ")}` } : { ok: true, scorer };
  }

  /** Takes the row `fold` encoded for `scorer`; returns its index in that model's buffer. */
  commit(scorer: number): number {
    return this.scorers[scorer]!.rows++;
  }
}

/**
 * The part of a profile one model reads: the encoder refuses fields it does not know, and a
 * profile may hold both models' fields. A profile of one model's fields only is passed as it is.
 */
function ownFields(profile: Record<string, unknown>, features: ReadonlySet<string>): Record<string, unknown> {
  for (const key in profile) {
    if (!features.has(key)) {
      const own: Record<string, unknown> = {};
      for (const name of features) if (Object.hasOwn(profile, name)) own[name] = profile[name];
      return own;
    }
  }
  return profile;
}
