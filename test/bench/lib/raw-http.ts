import { connect, type Socket } from "node:net";

/**
 * A minimal keep-alive HTTP/1.1 client for one fixed request, for the paced load: a pool of raw
 * sockets, each carrying one request at a time, and a parser that reads only the status line and
 * Content-Length. node:http's client spent ~0.33 ms of CPU per request (an Agent, a ClientRequest
 * and an IncomingMessage each time), a third of a core at 1,000 req/s taken from the server it
 * measures on a 2-core machine; autocannon's raw client costs about a tenth of that, but it cannot
 * send on a schedule. Responses must carry Content-Length (Koa's always do); any other is an error.
 */
export class RawHttpPool {
  private readonly idle: Connection[] = [];
  private open = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly request: Buffer,
    private readonly maxSockets: number,
  ) {}

  /** Sends the request; `done` gets the status code (0 on a socket error or when no socket is free). */
  send(done: (status: number) => void): void {
    let conn = this.idle.pop();
    while (conn?.dead) conn = this.idle.pop(); // closed by the server while idle
    if (!conn) {
      if (this.open >= this.maxSockets) return done(0);
      conn = new Connection(this.host, this.port, (c) => this.idle.push(c), () => this.open--);
      this.open++;
    }
    conn.send(this.request, done);
  }

  close(): void {
    for (const c of this.idle.splice(0)) c.destroy();
  }
}

class Connection {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: ((status: number) => void) | null = null;
  dead = false;

  constructor(host: string, port: number, private readonly release: (c: Connection) => void, private readonly closed: () => void) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    const fail = () => {
      if (this.dead) return;
      this.dead = true;
      this.closed();
      const w = this.waiting;
      this.waiting = null;
      w?.(0);
    };
    this.socket.on("error", fail);
    this.socket.on("close", fail);
  }

  send(request: Buffer, done: (status: number) => void): void {
    this.waiting = done;
    this.socket.write(request);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headerEnd = this.buffered.indexOf("\r\n\r\n");
    if (headerEnd < 0) return;
    const head = this.buffered.toString("latin1", 0, headerEnd);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) {
      this.socket.destroy(new Error("a response without Content-Length"));
      return;
    }
    const end = headerEnd + 4 + Number(length[1]);
    if (this.buffered.length < end) return;
    this.buffered = this.buffered.subarray(end);
    const status = Number(head.slice(9, 12));
    const w = this.waiting;
    this.waiting = null;
    this.release(this);
    w?.(status);
  }
}

/** The bytes of one HTTP/1.1 keep-alive request. */
export function encodeRequest(url: URL, method: string, headers: Record<string, string>, body?: string): Buffer {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, "Connection: keep-alive"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined) lines.push(`Content-Length: ${payload.length}`);
  return Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), payload]);
}
