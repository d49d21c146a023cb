import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "../../../src/console/index.ts";

type ConsoleSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Registers a user over HTTP, lets `promote` make it an admin (roles are set in the database, not
 * over the API) and signs it in: the JWT a console page would open its socket with.
 */
export async function consoleToken(url: string, promote: (userId: number) => Promise<unknown>): Promise<string> {
  const credentials = { username: "bench_console", password: "bench-console-pass" };
  const post = async (path: string, body: object) => {
    const res = await fetch(`${url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
  };
  const reg = await post("/api/auth/register", { ...credentials, email: "bench-console@example.com" });
  if (reg.status !== 201 || typeof reg.body?.user_id !== "number") throw new Error(`register answered ${reg.status}: ${JSON.stringify(reg.body)}`);
  await promote(reg.body.user_id);
  const login = await post("/api/auth/login", credentials);
  if (login.status !== 200 || typeof login.body?.access_token !== "string") throw new Error(`login answered ${login.status}: ${JSON.stringify(login.body)}`);
  return login.body.access_token;
}

export interface ConsoleClients {
  /** metrics frames and alert batches all the clients have received so far */
  received(): { frames: number; alertBatches: number };
  close(): void;
}

/**
 * Opens `n` console sockets the way the page does (token auth, then the server's snapshot), each
 * listening to what the page listens to. Resolves once every one has its snapshot.
 */
export async function connectConsoleClients(url: string, token: string, n: number): Promise<ConsoleClients> {
  const sockets: ConsoleSocket[] = [];
  let frames = 0;
  let alertBatches = 0;
  const close = () => sockets.splice(0).forEach((s) => s.close());
  try {
    for (let i = 0; i < n; i++) {
      const socket: ConsoleSocket = io(url, { path: "/socket.io", transports: ["websocket"], auth: { token }, reconnection: false, forceNew: true });
      sockets.push(socket);
      socket.on("metrics", () => frames++);
      socket.on("alerts", () => alertBatches++);
      await new Promise<void>((resolve, reject) => {
        socket.once("snapshot", () => resolve());
        socket.once("connect_error", (err: Error & { data?: { code?: string } }) => reject(new Error(`console socket refused: ${err.data?.code ?? err.message}`)));
      });
    }
  } catch (err) {
    close();
    throw err;
  }
  return { received: () => ({ frames, alertBatches }), close };
}
