import { createHmac, timingSafeEqual } from "node:crypto";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";

export const SIGNATURE_HEADER = "x-tidecast-signature";

/**
 * The signature header of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as
 * Stripe signs its webhooks. The time is inside what is signed, so a receiver that refuses old
 * times refuses a replayed delivery.
 */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex")}`;
}

/** What a receiver does: true when `header` signs `body` with `secret` and is at most `toleranceS` old. */
export function verifySignature(secret: string, body: string, header: string, toleranceS = 300, nowS = Math.floor(Date.now() / 1000)): boolean {
  const parts = Object.fromEntries(header.split(",").map((p) => p.split("=", 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(nowS - t) > toleranceS) return false;
  const expected = Buffer.from(signatureHeader(secret, body, t).split("v1=")[1]!, "hex");
  const given = Buffer.from(parts.v1, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export class DeliveryRefusedError extends Error {
  override name = "DeliveryRefusedError";
}

/** Loopback, private, link-local and other non-public addresses: not reachable from the internet. */
export function isPublicAddress(address: string): boolean {
  return ipaddr.isValid(address) && ipaddr.process(address).range() === "unicast";
}

/**
 * Whether a webhook URL may be configured: http(s), and unless private networks are allowed, not a
 * literal non-public address or `localhost`. A host name is checked again on every delivery, on
 * the addresses it resolves to then (see guardedLookup).
 */
export function urlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http or https URL";
  if (url.username || url.password) return "must not carry credentials (sign deliveries with the secret instead)";
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost") || (isIP(host) && !isPublicAddress(host))) {
    return "points to a private or loopback address, which this platform does not deliver to (WEBHOOK_ALLOW_PRIVATE_NETWORKS)";
  }
  return null;
}

/**
 * A DNS lookup that refuses non-public addresses, used for the connection itself: a check of the
 * name before connecting could be answered differently by the lookup that connects (DNS rebinding).
 */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, "", 0);
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) return callback(new DeliveryRefusedError(`${hostname} resolves to ${refused.address}, a non-public address`), "", 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

export interface DeliveryResult {
  status: number;
  /** the first bytes of the answer, for the delivery log */
  body: string;
}

const KEEP_BODY_BYTES = 1_024;

/** POSTs one delivery; resolves with the endpoint's answer (whatever its status), rejects when none came. */
export function postJson(rawUrl: string, body: string, headers: Record<string, string>, options: { timeoutMs: number; allowPrivate: boolean }): Promise<DeliveryResult> {
  const problem = urlProblem(rawUrl, options.allowPrivate);
  if (problem) return Promise.reject(new DeliveryRefusedError(`the URL ${problem}`));
  const url = new URL(rawUrl);
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers },
        signal: AbortSignal.timeout(options.timeoutMs),
        ...(options.allowPrivate ? {} : { lookup: guardedLookup }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on("data", (chunk: Buffer) => {
          if (kept < KEEP_BODY_BYTES) chunks.push(chunk);
          kept += chunk.length;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8").slice(0, KEEP_BODY_BYTES) }));
        res.on("error", reject);
      },
    );
    req.on("error", (err) => reject(err.name === "AbortError" ? new Error(`no answer within ${options.timeoutMs} ms`) : err));
    req.end(body);
  });
}
