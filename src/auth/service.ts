import type { Knex } from "knex";
import { AuthenticationError, ConflictError, InsufficientCreditsError } from "../errors.ts";
import {
  findUserByApiKeyHash,
  findUserById,
  findUserByLogin,
  insertApiKey,
  insertUser,
  latestApiKeyPrefix,
  UniqueViolation,
  type Role,
  type UserRow,
} from "../db/users.ts";
import { generateApiKey, hashApiKey } from "./api-keys.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import type { TokenService } from "./tokens.ts";

/** Who is calling: resolved once per request from a bearer token or an API key. */
export interface Principal {
  userId: number;
  tenantId: number;
  username: string;
  role: Role;
  plan: string;
  creditsRemaining: number;
  via: "jwt" | "api_key";
  /** the rate-limit bucket: one per API key, one per user for tokens */
  rateKey: string;
}

/**
 * Whether credits and rate limits apply to the caller. An admin is the platform's operator: it
 * allocates credits, so charging it would mean nothing, and its key is the one `npm start` prints
 * for scoring datasets through the API. The scorer's charge applies the same rule in SQL
 * (pipelines/scorer/handler.ts).
 */
export function isMetered(principal: Principal): boolean {
  return principal.role !== "admin";
}

/** Refuses (402) a metered caller whose balance does not cover `needed` predictions. */
export function requireCredits(principal: Principal, needed: number): void {
  if (isMetered(principal) && principal.creditsRemaining < needed) throw new InsufficientCreditsError(needed, principal.creditsRemaining);
}

// Principals are cached briefly so a busy API key costs no query per request; a revoked key or a
// changed role takes effect within this time.
const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 10_000;

export class AuthService {
  private readonly cache = new Map<string, { principal: Principal; expires: number }>();

  constructor(
    private readonly db: Knex,
    private readonly tokens: TokenService,
  ) {}

  async register(input: { username: string; email: string; password: string }, role: Role = "user") {
    let user: UserRow;
    try {
      user = await insertUser(this.db, {
        username: input.username,
        email: input.email.toLowerCase(),
        passwordHash: await hashPassword(input.password),
        role,
      });
    } catch (err) {
      if (err instanceof UniqueViolation) {
        const field = err.constraint.includes("email") ? "email" : "username";
        throw new ConflictError(`${field} is already registered`, { field });
      }
      throw err;
    }
    const apiKey = await this.issueApiKey(user.id);
    return { user, apiKey };
  }

  async issueApiKey(userId: number, name?: string): Promise<string> {
    const { key, hash, prefix } = generateApiKey();
    await insertApiKey(this.db, userId, hash, prefix, name);
    return key;
  }

  async login(login: string, password: string) {
    const user = await findUserByLogin(this.db, login);
    // verify against a dummy hash when the user is unknown, so timing does not reveal which logins exist
    const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
    if (!user || !ok) throw new AuthenticationError("Invalid username or password");
    const token = await this.tokens.sign({ userId: user.id, username: user.username });
    return { user, token, expiresIn: this.tokens.ttlSeconds };
  }

  /** Resolves the caller, or null when no credential was given; throws on a bad one. */
  async authenticate(credentials: { bearer?: string; apiKey?: string }): Promise<Principal | null> {
    if (credentials.apiKey) {
      const hash = hashApiKey(credentials.apiKey);
      return this.cached(`k:${hash}`, async () => {
        const user = await findUserByApiKeyHash(this.db, hash);
        return user ? toPrincipal(user, "api_key", `key:${hash.slice(0, 16)}`) : null;
      }, "Invalid API key");
    }
    if (credentials.bearer) {
      const claims = await this.tokens.verify(credentials.bearer);
      if (!claims) throw new AuthenticationError("Invalid or expired token");
      return this.cached(`u:${claims.userId}`, async () => {
        const user = await findUserById(this.db, claims.userId);
        return user ? toPrincipal(user, "jwt", `user:${user.id}`) : null;
      }, "The token's user no longer exists");
    }
    return null;
  }

  async userInfo(principal: Principal) {
    const user = await findUserById(this.db, principal.userId);
    if (!user) throw new AuthenticationError("The user no longer exists");
    return { user, apiKeyPrefix: await latestApiKeyPrefix(this.db, user.id) };
  }

  private async cached(key: string, load: () => Promise<Principal | null>, failure: string): Promise<Principal> {
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit.principal;
    const principal = await load();
    if (!principal) throw new AuthenticationError(failure);
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(key, { principal, expires: now + CACHE_TTL_MS });
    return principal;
  }
}

function toPrincipal(user: UserRow, via: Principal["via"], rateKey: string): Principal {
  return {
    userId: user.id,
    tenantId: user.tenant_id,
    username: user.username,
    role: user.role,
    plan: user.plan,
    creditsRemaining: user.credits_remaining,
    via,
    rateKey,
  };
}

// A valid scrypt hash of a random password, used only to spend the same time on unknown logins.
const DUMMY_HASH = await hashPassword(crypto.randomUUID());
