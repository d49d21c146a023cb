import { jetstream } from "@nats-io/jetstream";
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ConsoleSnapshot, ServerToClientEvents } from "../../src/console/index.ts";
import type { Platform } from "../../src/platform.ts";
import { client } from "../helpers/env.ts";

export type ConsoleSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let counter = 0;

/** A registered user with a known password and role, signed in: its JWT and its session cookie. */
export async function consoleUser(platform: Platform, role: "admin" | "operator" | "analyst" | "user") {
  const username = `${role}${process.pid}x${++counter}`;
  const password = "console-pass-1";
  const http = client(platform.url!);
  const reg = await http.post("/api/auth/register", { username, email: `${username}@example.com`, password });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${reg.text}`);
  await platform.db("users").where({ id: reg.body.user_id }).update({ role });
  const login = await http.post("/api/auth/login", { username, password });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  const setCookie = login.headers.get("set-cookie") ?? "";
  return {
    userId: reg.body.user_id as number,
    username,
    password,
    token: login.body.access_token as string,
    setCookie,
    /** the Cookie header a browser would send */
    cookie: setCookie.split(";")[0]!,
  };
}

/** Connects a console socket; resolves with the first snapshot, rejects with the refusal's code. */
export function connectConsole(url: string, auth: { token?: string; cookie?: string } = {}): Promise<{ socket: ConsoleSocket; snapshot: ConsoleSnapshot }> {
  const socket: ConsoleSocket = io(url, {
    path: "/socket.io",
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    ...(auth.token ? { auth: { token: auth.token } } : {}),
    ...(auth.cookie ? { extraHeaders: { cookie: auth.cookie } } : {}),
  });
  return new Promise((resolve, reject) => {
    socket.once("snapshot", (snapshot) => resolve({ socket, snapshot }));
    socket.once("connect_error", (err: Error & { data?: { code?: string } }) => {
      socket.close();
      reject(Object.assign(new Error(err.message), { code: err.data?.code }));
    });
  });
}

/** Publishes a customer event straight to JetStream, as a producer would. */
export async function publishCustomerEvent(platform: Platform, key: string, id: string, data: Record<string, unknown> | string, type = "profile") {
  const body = typeof data === "string" ? data : JSON.stringify({ id, domain: "customer", key, type, data, timestamp: new Date().toISOString() });
  await jetstream(platform.bus.nc).publish(platform.bus.names.eventSubject("customer", key), body, { msgID: id });
}

export const LOYAL = { tenure: 60, monthly_charges: 30, contract_type: "Two year", internet_service: "DSL", payment_method: "Credit card (automatic)" };
export const RISKY = { tenure: 1, contract_type: "Month-to-month", internet_service: "Fiber optic", payment_method: "Electronic check", monthly_charges: 99 };

/** Publishes `perSecond` profile events a second for distinct customers until stopped. */
export function steadyEvents(platform: Platform, perSecond: number, tag: string) {
  let n = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < perSecond / 10; i++, n++) {
      void publishCustomerEvent(platform, `${tag}-${n % 50}`, `${tag}-${n}`, { ...LOYAL, tenure: 10 + (n % 50) }).catch(() => undefined);
    }
  }, 100);
  return { stop: () => clearInterval(timer), sent: () => n };
}
