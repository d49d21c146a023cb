import type { Server as HttpServer } from "node:http";
import type { Subscription } from "@nats-io/transport-node";
import { decodeJwt } from "jose";
import type { Knex } from "knex";
import { Server, type Socket } from "socket.io";
import { AlertSchema, listAlerts } from "../alerts/index.ts";
import { readSessionCookie } from "../api/session-cookie.ts";
import type { AuthService } from "../auth/index.ts";
import { AuthenticationError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { decodeJson, type Bus } from "../streams/index.ts";
import { MetricsAggregator } from "./aggregator.ts";
import { alertStatusSubject } from "./alert-status.ts";
import {
  CONSOLE_ROLES,
  permissionsOf,
  type ClientToServerEvents,
  type ConsoleAlert,
  type ConsoleRole,
  type ConsoleSnapshot,
  type ConsumerInfoView,
  type ServerToClientEvents,
  type SocketData,
} from "./events.ts";
import { ProcessSnapshotSchema, SNAPSHOT_INTERVAL_MS, snapshotSubject } from "./snapshot.ts";

type ConsoleServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type ConsoleSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const RECENT_ALERTS = 50;
const INSPECT_CACHE_MS = 5_000;

export interface ConsoleDeps {
  auth: AuthService;
  bus: Bus;
  db: Knex;
  log: Logger;
  streamPrefix: string;
  subjectPrefix: string;
}

const roomOf = (role: ConsoleRole) => `role:${role}`;
const ALL_ROOMS = CONSOLE_ROLES.map(roomOf);

/**
 * A socket lives longer than the token that opened it: it is closed when the token expires, and the
 * page's reconnect is then refused like any expired token. (The token was verified just before.)
 */
function disconnectAtExpiry(socket: ConsoleSocket, token: string): void {
  const { exp } = decodeJwt(token);
  if (exp === undefined) return;
  // setTimeout overflows past 2^31-1 ms (24.8 days): a longer-lived token is simply re-checked then
  const timer = setTimeout(() => socket.disconnect(true), Math.min(2 ** 31 - 1, Math.max(0, exp * 1000 - Date.now())));
  timer.unref();
  socket.once("disconnect", () => clearTimeout(timer));
}

/** Refusals carry the API's error code, so the page can tell "sign in" from "not allowed". */
function refusal(code: "AUTHENTICATION_REQUIRED" | "INSUFFICIENT_PERMISSIONS", message: string): Error {
  return Object.assign(new Error(message), { data: { code } });
}

/**
 * The console's live channel on the API's HTTP server: authenticated on connect with the same JWT
 * check as HTTP (from `auth.token` or the session cookie), a snapshot on every connect so a
 * reconnecting page catches up, then one metrics frame a second and new alerts as they are published.
 */
export function attachConsole(http: HttpServer, deps: ConsoleDeps) {
  const io: ConsoleServer = new Server(http, { path: "/socket.io", serveClient: false });
  const aggregator = new MetricsAggregator(deps.streamPrefix);

  io.use(async (socket, next) => {
    const given = socket.handshake.auth?.token;
    const token = typeof given === "string" && given ? given : readSessionCookie(socket.handshake.headers.cookie);
    if (!token) return next(refusal("AUTHENTICATION_REQUIRED", "Sign in first"));
    try {
      const principal = await deps.auth.authenticate({ bearer: token });
      const role = principal?.role;
      if (!principal || !CONSOLE_ROLES.includes(role as ConsoleRole)) {
        return next(refusal("INSUFFICIENT_PERMISSIONS", `The console is for the roles ${CONSOLE_ROLES.join(", ")}`));
      }
      socket.data = { userId: principal.userId, username: principal.username, role: role as ConsoleRole };
      disconnectAtExpiry(socket, token);
      next();
    } catch (err) {
      if (err instanceof AuthenticationError) return next(refusal("AUTHENTICATION_REQUIRED", err.message));
      deps.log.error({ err }, "console handshake failed");
      next(new Error("Service unavailable"));
    }
  });

  const snapshotFor = async (socket: ConsoleSocket): Promise<ConsoleSnapshot> => {
    const { userId, username, role } = socket.data;
    const { items } = await listAlerts(deps.db, { page: 1, page_size: RECENT_ALERTS });
    return { user: { id: userId, username, role }, permissions: permissionsOf(role), frames: aggregator.history(), alerts: items };
  };

  // one consumer INFO per pipeline, at most every 5 s however many people click
  let inspected: { at: number; result: Promise<ConsumerInfoView[]> } | null = null;
  const inspect = (): Promise<ConsumerInfoView[]> => {
    if (inspected && Date.now() - inspected.at < INSPECT_CACHE_MS) return inspected.result;
    const latest = aggregator.history().at(-1);
    const result = Promise.all(
      Object.entries(latest?.pipelines ?? {}).map(async ([pipeline, p]) => {
        const info = await deps.bus.jsm.consumers.info(deps.streamPrefix + p.stream, pipeline);
        return {
          pipeline,
          stream: p.stream,
          ackFloor: info.ack_floor.stream_seq,
          ackPending: info.num_ack_pending,
          pending: info.num_pending,
          redelivered: info.num_redelivered,
        };
      }),
    );
    inspected = { at: Date.now(), result };
    result.catch(() => (inspected = null));
    return result;
  };

  io.on("connection", (socket) => {
    void socket.join(roomOf(socket.data.role));
    snapshotFor(socket).then(
      (s) => socket.emit("snapshot", s),
      (err) => deps.log.warn({ err }, "console snapshot failed"),
    );
    socket.on("resync", (reply) => {
      if (typeof reply !== "function") return;
      snapshotFor(socket).then(reply, (err) => deps.log.warn({ err }, "console snapshot failed"));
    });
    socket.on("pipelines:inspect", (reply) => {
      if (typeof reply !== "function") return;
      if (!permissionsOf(socket.data.role).managePipelines) return reply({ error: "Pipelines are for operators and admins" });
      inspect().then(
        (consumers) => reply({ consumers }),
        (err) => {
          deps.log.warn({ err }, "consumer inspection failed");
          reply({ error: "Could not read the consumers" });
        },
      );
    });
  });

  let alerts: ConsoleAlert[] = [];
  const subscriptions: Subscription[] = [
    deps.bus.nc.subscribe(snapshotSubject(deps.subjectPrefix), {
      callback: (err, msg) => {
        if (err) return;
        const parsed = ProcessSnapshotSchema.safeParse(decodeJson(msg.data));
        if (parsed.success) aggregator.ingest(parsed.data, Date.now());
      },
    }),
    // a core subscription sees each alert as its pipeline publishes it to the ALERTS stream
    deps.bus.nc.subscribe(deps.bus.names.alertFilter(), {
      callback: (err, msg) => {
        if (err) return;
        const parsed = AlertSchema.safeParse(decodeJson(msg.data));
        if (parsed.success) alerts.push(parsed.data);
      },
    }),
    // an alert acknowledged or resolved through any API process; sent at once (people, not
    // pipelines, make these), and a batch still waiting here must not carry the old status
    deps.bus.nc.subscribe(alertStatusSubject(deps.subjectPrefix), {
      callback: (err, msg) => {
        if (err) return;
        const parsed = AlertSchema.safeParse(decodeJson(msg.data));
        if (!parsed.success) return;
        const changed = parsed.data;
        alerts = alerts.map((a) => (a.id === changed.id ? changed : a));
        io.to(ALL_ROOMS).emit("alerts:status", changed);
      },
    }),
  ];

  // Coalescing: metrics leave as one frame a second whatever the traffic (volatile: a client that
  // cannot keep up misses a frame rather than queueing them); alerts leave in batches, 4 a second at most.
  const metricsTimer = setInterval(() => io.to(ALL_ROOMS).volatile.emit("metrics", aggregator.tick(Date.now())), SNAPSHOT_INTERVAL_MS);
  const alertTimer = setInterval(() => {
    if (alerts.length === 0) return;
    const batch = alerts.slice(-RECENT_ALERTS);
    alerts = [];
    io.to(ALL_ROOMS).emit("alerts", batch);
  }, 250);
  metricsTimer.unref();
  alertTimer.unref();

  return {
    io,
    /** Disconnects every console client (so the HTTP server can close) and stops the timers. */
    close: async () => {
      clearInterval(metricsTimer);
      clearInterval(alertTimer);
      for (const s of subscriptions) s.unsubscribe();
      io.disconnectSockets(true);
      io.engine.close();
    },
  };
}
