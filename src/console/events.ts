/**
 * The console's Socket.io event map, shared by the server (src/console/socket-server.ts) and the
 * page (console/src/live.ts): both sides compile against these types, so a renamed event or field
 * fails the build on both. No imports, so the page's bundler can take it as it is.
 */

export type ConsoleRole = "admin" | "operator" | "analyst";

/** What a role may do in the console; the server enforces the same rules on every action. */
export interface Permissions {
  /** acknowledge and resolve alerts */
  manageAlerts: boolean;
  /** see pipelines and retry dead letters */
  managePipelines: boolean;
  /** bull-board at /admin/queues */
  manageJobs: boolean;
  /** choose which version of a model is served */
  manageModels: boolean;
}

/** An alert as stored in Postgres and published on `alerts.<type>`. */
export interface ConsoleAlert {
  id: string;
  type: string;
  severity: "low" | "medium" | "high" | "critical";
  source: string;
  entity_type: string;
  entity_id: string;
  message: string;
  data: Record<string, unknown>;
  status: "open" | "acknowledged" | "resolved";
  created_at: string;
}

/** One pipeline (durable consumer) in one metrics frame. */
export interface PipelineFrame {
  /** the stream it reads, without the install's prefix */
  stream: string;
  /** messages handled per second (acked, retried or dead-lettered) */
  handledPerSec: number;
  /** messages in the stream not yet delivered, from the newest delivered message's own metadata */
  pending: number | null;
  /** messages delivered and not yet acked */
  ackPending: number;
  redeliveriesPerSec: number;
  redeliveriesTotal: number;
  deadLettersPerSec: number;
  deadLettersTotal: number;
}

/**
 * Every live number the console shows, aggregated over all processes of the install, once a second.
 * Rates are per second over the last second, latency quantiles over the last 10 seconds.
 */
export interface MetricsFrame {
  /** epoch milliseconds at the end of the second */
  t: number;
  /** messages consumed per second, by stream */
  eventsPerSec: Record<string, number>;
  /** predictions per second, by model */
  predictionsPerSec: Record<string, number>;
  sync: {
    /** synchronous prediction requests per second */
    perSec: number;
    /** milliseconds, null when there was no request in the window */
    p50: number | null;
    p99: number | null;
  };
  errors: {
    /** HTTP 5xx, failed messages and prediction errors per second */
    perSec: number;
    /** errors / (HTTP requests + messages handled), 0–1 */
    rate: number;
  };
  pipelines: Record<string, PipelineFrame>;
  /** processes whose snapshot arrived in the last 5 s */
  processes: number;
}

/** What a client gets on every connect, reconnects included: enough to draw every view at once. */
export interface ConsoleSnapshot {
  user: { id: number; username: string; role: ConsoleRole };
  permissions: Permissions;
  /** up to the last 120 frames, oldest first */
  frames: MetricsFrame[];
  /** the newest alerts, newest first */
  alerts: ConsoleAlert[];
}

/**
 * A consumer as the server reports it, asked for on demand only (a click in the Pipelines view):
 * periodic consumer INFO requests stall deliveries on nats-server 2.9, so the live frames never use it.
 */
export interface ConsumerInfoView {
  pipeline: string;
  stream: string;
  /** stream sequence below which every message is acked */
  ackFloor: number;
  ackPending: number;
  /** messages not yet delivered */
  pending: number;
  redelivered: number;
}

export interface ServerToClientEvents {
  snapshot: (snapshot: ConsoleSnapshot) => void;
  /** one frame per second at most, however busy the pipelines are */
  metrics: (frame: MetricsFrame) => void;
  /** new alerts as their pipelines published them, oldest first; at most 4 batches a second */
  alerts: (alerts: ConsoleAlert[]) => void;
  /**
   * an alert someone acknowledged or resolved, through any API process, as stored after the change;
   * statuses only move forward (open → acknowledged → resolved), so a late one never undoes a newer
   */
  "alerts:status": (alert: ConsoleAlert) => void;
}

export interface ClientToServerEvents {
  /** asks for a fresh snapshot, e.g. when a hidden tab (whose timers the browser slowed) is shown again */
  resync: (reply: (snapshot: ConsoleSnapshot) => void) => void;
  /** operators and admins: every pipeline consumer's server-side state (answered from a 5 s cache) */
  "pipelines:inspect": (reply: (result: { consumers: ConsumerInfoView[] } | { error: string }) => void) => void;
}

/** Per-socket data the server keeps after authenticating the handshake. */
export interface SocketData {
  userId: number;
  username: string;
  role: ConsoleRole;
}

export const CONSOLE_ROLES: readonly ConsoleRole[] = ["admin", "operator", "analyst"];

export function permissionsOf(role: ConsoleRole): Permissions {
  return {
    manageAlerts: role === "admin" || role === "operator",
    managePipelines: role === "admin" || role === "operator",
    manageJobs: role === "admin",
    manageModels: role === "admin",
  };
}
