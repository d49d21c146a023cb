/**
 * The console's session: the login's JWT in an httpOnly cookie, because a browser cannot attach an
 * Authorization header to a page load (/console, /admin/queues) or a WebSocket handshake. httpOnly
 * keeps it from page scripts; SameSite=Strict keeps other sites' pages from sending it.
 */
export const SESSION_COOKIE = "tidecast_session";

export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie("", 0, secure);
}

/** The session token from a Cookie header, if there is one. */
export function readSessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
