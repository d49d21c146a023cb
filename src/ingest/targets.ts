import { ValidationError } from "../errors.ts";
import { EVENT_DOMAINS, type EventDomain } from "../streams/index.ts";

/** Where an import's rows go: prediction requests for one model, or events of one domain. */
export type ImportTarget = { kind: "predict"; model: string } | { kind: "events"; domain: EventDomain };

const MODEL_NAME = /^[a-z0-9_]{1,100}$/;

/** `predict:<model_id>` or `events:<domain>`, as the generic upload's `target` field carries it. */
export function parseTarget(text: string): ImportTarget {
  const [kind, name, ...rest] = text.trim().split(":");
  if (rest.length === 0 && kind === "predict" && name !== undefined && MODEL_NAME.test(name)) return { kind, model: name };
  if (rest.length === 0 && kind === "events" && (EVENT_DOMAINS as readonly string[]).includes(name ?? "")) {
    return { kind, domain: name as EventDomain };
  }
  throw new ValidationError(`target must be predict:<model_id> or events:<domain> (domain one of ${EVENT_DOMAINS.join(", ")}); got ${JSON.stringify(text)}`, {
    target: text,
  });
}

export function formatTarget(target: ImportTarget): string {
  return target.kind === "predict" ? `predict:${target.model}` : `events:${target.domain}`;
}

/** Seed 000's upload endpoints (`/api/upload/csv/<name>`) and the model each one scores with. */
export const SEED_UPLOAD_MODELS = {
  "lead-scoring": "lead_scoring",
  "churn-prediction": "churn_telco",
  "sales-forecast": "sales_forecast",
} as const;
