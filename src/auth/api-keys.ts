import { createHash, randomBytes } from "node:crypto";

const PREFIX = "tc_";

/** A new API key: shown once to its owner, stored only as its hash. */
export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = PREFIX + randomBytes(24).toString("base64url");
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 10) };
}

/** sha256 suffices: keys are 192 random bits, so there is nothing to brute-force a slow hash against. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}
