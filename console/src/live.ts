import { io, type Socket } from "socket.io-client";
import type {
  ClientToServerEvents,
  ConsoleAlert,
  ConsoleSnapshot,
  ConsumerInfoView,
  MetricsFrame,
  ServerToClientEvents,
} from "../../src/console/events.ts";

const FRAMES_KEPT = 120;
const ALERTS_KEPT = 200;
const STATUS_ORDER: ReadonlyArray<ConsoleAlert["status"]> = ["open", "acknowledged", "resolved"];

/**
 * Of two copies of one alert, the one further along: statuses only move forward, and copies arrive
 * by different ways (a batch of new alerts, another operator's change, this user's own answer, a
 * snapshot) in no guaranteed order.
 */
function newer(held: ConsoleAlert | undefined, incoming: ConsoleAlert): ConsoleAlert {
  return held && STATUS_ORDER.indexOf(held.status) > STATUS_ORDER.indexOf(incoming.status) ? held : incoming;
}

export type Connection = "connecting" | "live" | "reconnecting" | "signed-out";

/**
 * The page's live state, fed by the console socket: a snapshot on every (re)connect replaces the
 * metrics window and merges alerts, so a page that lost its connection catches up by itself.
 */
export class LiveStore extends EventTarget {
  snapshot: ConsoleSnapshot | null = null;
  frames: MetricsFrame[] = [];
  alerts: ConsoleAlert[] = [];
  connection: Connection = "connecting";
  private socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;

  connect(): void {
    this.socket?.close();
    this.setConnection("connecting");
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({ path: "/socket.io", withCredentials: true });
    this.socket = socket;
    socket.on("snapshot", (s) => this.applySnapshot(s));
    socket.on("metrics", (frame) => {
      this.frames = [...this.frames.slice(-(FRAMES_KEPT - 1)), frame];
      this.changed();
    });
    socket.on("alerts", (alerts) => {
      this.mergeAlerts(alerts);
      this.changed();
    });
    socket.on("alerts:status", (alert) => this.updateAlert(alert));
    socket.on("disconnect", () => this.setConnection("reconnecting"));
    socket.on("connect_error", (err: Error & { data?: { code?: string } }) => {
      // refused by the server (no or expired session): back to the sign-in; otherwise keep trying
      if (err.data?.code) this.signedOut();
      else this.setConnection("reconnecting");
    });
    document.addEventListener("visibilitychange", this.onVisible);
  }

  disconnect(): void {
    document.removeEventListener("visibilitychange", this.onVisible);
    this.socket?.close();
    this.socket = null;
  }

  /** Asks the server for each consumer's own state (ack floor...): on demand, never on a timer. */
  async inspectPipelines(): Promise<ConsumerInfoView[]> {
    if (!this.socket?.connected) throw new Error("not connected");
    const result = await this.socket.emitWithAck("pipelines:inspect");
    if ("error" in result) throw new Error(result.error);
    return result.consumers;
  }

  /**
   * Replaces an alert whose status changed, by this user through the API or by anyone (the server's
   * `alerts:status`); one the page does not hold is left out, as older than the feed it keeps.
   */
  updateAlert(alert: ConsoleAlert): void {
    this.alerts = this.alerts.map((a) => (a.id === alert.id ? newer(a, alert) : a));
    this.changed();
  }

  private signedOut(): void {
    this.disconnect();
    this.snapshot = null;
    this.setConnection("signed-out");
  }

  // a hidden tab's timers are slowed by the browser: when it is shown again, ask for the present
  private readonly onVisible = () => {
    if (document.visibilityState === "visible" && this.socket?.connected) {
      void this.socket.emitWithAck("resync").then((s) => this.applySnapshot(s));
    }
  };

  private applySnapshot(s: ConsoleSnapshot): void {
    this.snapshot = s;
    this.frames = s.frames.slice(-FRAMES_KEPT);
    this.mergeAlerts(s.alerts);
    this.connection = "live";
    this.changed();
  }

  private mergeAlerts(incoming: readonly ConsoleAlert[]): void {
    const byId = new Map(this.alerts.map((a) => [a.id, a]));
    for (const a of incoming) byId.set(a.id, newer(byId.get(a.id), a));
    this.alerts = [...byId.values()].sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, ALERTS_KEPT);
  }

  private setConnection(c: Connection): void {
    this.connection = c;
    this.changed();
  }

  private changed(): void {
    this.dispatchEvent(new Event("change"));
  }
}

export const live = new LiveStore();
