import { z } from "zod";

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;

/** A typed alert, as stored in Postgres and carried on `alerts.<type>`. */
export const AlertSchema = z.object({
  id: z.uuid(),
  type: z.string(),
  severity: z.enum(SEVERITIES),
  source: z.string(),
  entity_type: z.string(),
  entity_id: z.string(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
  status: z.enum(["open", "acknowledged", "resolved"]),
  created_at: z.string(),
});
export type Alert = z.infer<typeof AlertSchema>;

/** What a pipeline raises; the store adds id, status and time. */
export interface NewAlert {
  /** derived from the cause, so raising it again (a redelivery) stores nothing new */
  dedupKey: string;
  type: string;
  severity: Alert["severity"];
  source: string;
  entityType: string;
  entityId: string;
  message: string;
  data: Record<string, unknown>;
}
