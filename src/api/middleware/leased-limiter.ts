import type { Redis } from "ioredis";

/** What a limiter decided for one request. */
export interface LimitDecision {
  allowed: boolean;
  limit: number;
  /** points left in the window as this process knows it */
  remaining: number;
  /** unix milliseconds when the window resets */
  resetAt: number;
}

const LEASE_DIVISOR = 20;
const MAX_LEASE = 100;
const MAX_KEYS = 10_000;

// KEYS[1] counter; ARGV: points wanted, limit, window ms. Returns {granted, used after, ms to reset}.
const LEASE_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.max(0, math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - used))
if grant > 0 then used = redis.call('INCRBY', KEYS[1], grant) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  if used > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  ttl = tonumber(ARGV[3])
end
return {grant, used, ttl}`;

interface Lease {
  /** points leased by this process and not yet spent */
  left: number;
  /** the key's count in Redis after this process's last lease */
  used: number;
  resetAt: number;
  /** true once Redis granted nothing: refuse locally until the window resets */
  exhausted: boolean;
  /** the lease being taken, shared by every request that found `left` at 0 meanwhile */
  pending?: Promise<void>;
}

type LeaseCommand = (key: string, want: number, limit: number, windowMs: number) => Promise<[number, number, number]>;

/**
 * A fixed-window limit shared by every API process through Redis, without a Redis round trip per
 * request: a process leases a share of what is left of a key's window in one atomic step, then
 * spends the lease locally. The count in Redis is the sum of every lease, so no window ever admits
 * more than its limit, however many processes serve it; points a process has leased but not spent
 * when it stops, or when another process exhausts the key, are lost for that window (at most one
 * lease per process, and a lease is 1/LEASE_DIVISOR of what was left). Near the limit leases shrink
 * to one point, so the last points are counted exactly. A key found exhausted is refused locally
 * until its window resets.
 *
 * No library does this (rate-limiter-flexible asks Redis once per request: about a tenth of the
 * API process's busy time in a CPU profile of sync predictions); Sentry Relay's "opportunistic quota
 * cache" is the same idea.
 */
export class LeasedRateLimiter {
  private readonly leases = new Map<string, Lease>();
  private readonly leaseCommand: LeaseCommand;

  constructor(
    redis: Redis,
    private readonly keyPrefix: string,
    readonly limit: number,
    private readonly windowMs: number,
  ) {
    // defineCommand runs the script by its SHA (EVALSHA), loading it once
    if (!("tidecastLease" in redis)) redis.defineCommand("tidecastLease", { numberOfKeys: 1, lua: LEASE_LUA });
    this.leaseCommand = (redis as unknown as { tidecastLease: LeaseCommand }).tidecastLease.bind(redis);
  }

  /** Spends one point of `key`'s window; rejects only when Redis cannot be reached. */
  async consume(key: string): Promise<LimitDecision> {
    for (;;) {
      const now = Date.now();
      let lease = this.leases.get(key);
      if (lease && now >= lease.resetAt) {
        this.leases.delete(key);
        lease = undefined;
      }
      if (lease && lease.left > 0) {
        lease.left--;
        return this.decision(true, lease);
      }
      if (lease?.exhausted) return this.decision(false, lease);
      if (!lease) {
        this.evictIfFull(now);
        lease = { left: 0, used: 0, resetAt: now + this.windowMs, exhausted: false };
        this.leases.set(key, lease);
      }
      await (lease.pending ??= this.renew(key, lease));
    }
  }

  private async renew(key: string, lease: Lease): Promise<void> {
    const want = Math.max(1, Math.min(MAX_LEASE, Math.floor((this.limit - lease.used) / LEASE_DIVISOR)));
    try {
      const [granted, used, ttlMs] = await this.leaseCommand(`${this.keyPrefix}${key}`, want, this.limit, this.windowMs);
      lease.left += granted;
      lease.used = used;
      lease.resetAt = Date.now() + ttlMs;
      lease.exhausted = granted === 0;
    } catch (err) {
      if (this.leases.get(key) === lease) this.leases.delete(key);
      throw err;
    } finally {
      lease.pending = undefined;
    }
  }

  private decision(allowed: boolean, lease: Lease): LimitDecision {
    return { allowed, limit: this.limit, remaining: Math.max(0, this.limit - (lease.used - lease.left)), resetAt: lease.resetAt };
  }

  private evictIfFull(now: number): void {
    if (this.leases.size < MAX_KEYS) return;
    for (const [key, lease] of this.leases) if (now >= lease.resetAt && !lease.pending) this.leases.delete(key);
    // many live keys (a scan of API keys, say): forgetting their leases only under-admits
    if (this.leases.size >= MAX_KEYS) this.leases.clear();
  }
}
