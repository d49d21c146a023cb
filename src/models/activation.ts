import type { Knex } from "knex";
import type { Subscription } from "@nats-io/transport-node";
import type { Logger } from "../log.ts";
import { encodeJson, type Bus } from "../streams/index.ts";
import type { ModelRegistry } from "./registry.ts";

interface ActivationDeps {
  bus: Bus;
  db: Knex;
  registry: ModelRegistry;
  log: Logger;
  subjectPrefix: string;
}

/**
 * Where an activation is announced, so that every process (API nodes, pipelines, import workers)
 * serves the new version within moments. Core NATS, not a stream: Postgres holds which version is
 * active, and a process reads it from there when told and after every reconnect, so a missed
 * announcement costs nothing lasting.
 */
export function activationSubject(subjectPrefix: string): string {
  return `${subjectPrefix}models.activated`;
}

/** Called after the change is stored: a failure to publish is logged, not the caller's error. */
export function announceActivation(deps: Pick<ActivationDeps, "bus" | "log" | "subjectPrefix">, model: string, version: string): void {
  try {
    deps.bus.nc.publish(activationSubject(deps.subjectPrefix), encodeJson({ model, version }));
  } catch (err) {
    deps.log.warn({ err, model, version }, "could not announce a model activation to the other processes");
  }
}

/**
 * Adopts the active versions from Postgres whenever one is announced or NATS reconnects. `stop`
 * waits for an adoption under way, so that it never outlives the database pool.
 */
export function followActivations(deps: ActivationDeps): { stop(): Promise<void> } {
  // one adoption at a time, and one more queued at most: each reads every model's row anyway
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const adopt = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = deps.registry
      .adoptActive(deps.db)
      .catch((err) => deps.log.warn({ err }, "could not read the active model versions"))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          adopt();
        }
      });
  };
  const subscription: Subscription = deps.bus.nc.subscribe(activationSubject(deps.subjectPrefix), {
    callback: (err) => {
      if (!err) adopt();
    },
  });
  // the iteration ends when the connection closes
  void (async () => {
    for await (const s of deps.bus.nc.status()) if (s.type === "reconnect") adopt();
  })();
  return {
    async stop() {
      stopped = true;
      subscription.unsubscribe();
      while (running) await running;
    },
  };
}
