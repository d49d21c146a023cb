import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { JsMsg } from "@nats-io/jetstream";
import { presentRecommendations } from "../../src/customers/index.ts";
import { ModelLoadError, type LoadedModel } from "../../src/models/index.ts";
import { decodeJson, type BatchHandler, type Outcome } from "../../src/streams/index.ts";
import { EventSubscribers, notice, noticePublisher } from "../../src/webhooks/index.ts";
import { StateCache } from "../state-cache.ts";
import type { PipelineDeps } from "../types.ts";
import { blend, CANDIDATES, LivePopularity, modelView, type ModelView } from "./blend.ts";
import { applyInteraction, InteractionEventSchema, POPULARITY_WEIGHT, type Interaction } from "./interaction.ts";
import { loadItemKnn, ModelTops, type ItemKnn } from "./item-knn.ts";
import { addItemStats, lockStates, readPopularity, saveRecommendations, saveStates, type InteractionState, type ItemStatsDelta, type RecommendationRow } from "./state.ts";

export const RECOMMEND_MODEL = "recommend_retail";
/** Customer states kept in memory between batches (a few KB each at most); others are read from Postgres. */
const CACHED_CUSTOMERS = 20_000;

interface Parsed {
  index: number;
  msg: JsMsg;
  customerId: string;
  interaction: Interaction;
}

interface Applied extends Parsed {
  state: InteractionState;
}

/**
 * The recommendations pipeline: folds `events.interaction.<customer>` into each customer's recent
 * history and into live item statistics, then, once per customer per batch (after all of its
 * events), blends the recommend_retail model's scores for that history with live popularity and
 * stores the customer's top items — state, item statistics and recommendations in one transaction,
 * acked after the commit. An event already applied (its sequence is at or below the customer's
 * last) is acknowledged without effect, so a redelivery changes nothing. While any webhook
 * subscribes to `recommendation.generated`, each customer's new items are published as a notice.
 */
export function createRecommendationsHandler(deps: PipelineDeps): BatchHandler {
  const { db, bus, registry, metrics, config, log } = deps;
  const subscribers = new EventSubscribers(db, bus, config.SUBJECT_PREFIX, "recommendation.generated", log);
  const publishNotice = noticePublisher(bus);
  const cache = new StateCache<InteractionState>(CACHED_CUSTOMERS, (s) => s.customerId);
  let loaded: { sha256: string; knn: Promise<ItemKnn> } | undefined;
  const knnFor = (model: LoadedModel): Promise<ItemKnn> => {
    if (loaded?.sha256 !== model.sha256) {
      const knn = readItemKnn(config.MODELS_DIR, model).catch((err: unknown) => {
        loaded = undefined; // the next batch tries again
        throw err;
      });
      loaded = { sha256: model.sha256, knn };
    }
    return loaded.knn;
  };

  /**
   * After the commit. A failed publish is logged and not retried: a redelivered batch finds its
   * events applied and recomputes nothing, so it could not publish them again anyway.
   */
  const publishGenerated = async (stored: readonly RecommendationRow[], version: string) => {
    const committedAt = new Date();
    try {
      await Promise.all(
        stored.map((r) =>
          publishNotice(
            notice(
              "recommendation.generated",
              `${r.customer_id}:${r.stream_seq}`,
              null,
              // what GET /api/v1/recommendations/{customer_id} shows
              { ...presentRecommendations(registry, { customer_id: r.customer_id, items: r.items, model: RECOMMEND_MODEL, model_version: version, updated_at: committedAt }) },
            ),
          ),
        ),
      );
    } catch (err) {
      log.warn({ err, customers: stored.length }, "could not publish recommendation.generated notices");
    }
  };
  const handler = async (batch: readonly JsMsg[]): Promise<Outcome[]> => {
    const knn = await knnFor(registry.get(RECOMMEND_MODEL));
    const outcomes: Outcome[] = batch.map(() => ({ kind: "ack" }));
    const events: Parsed[] = [];
    batch.forEach((msg, index) => {
      const parsed = InteractionEventSchema.safeParse(decodeJson(msg.data));
      if (!parsed.success) {
        outcomes[index] = { kind: "invalid", error: `not an interaction event: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}` };
      } else {
        events.push({ index, msg, customerId: parsed.data.key, interaction: { type: parsed.data.type, data: parsed.data.data } });
      }
    });
    if (events.length === 0) return outcomes;

    const started = performance.now();
    const { stored, states } = await db.transaction(async (trx) => {
      const states = await lockStates(trx, [...new Set(events.map((e) => e.customerId))], cache);
      const applied: Applied[] = [];
      const lastOf = new Map<InteractionState, Applied>();
      for (const e of events.sort((a, b) => a.msg.seq - b.msg.seq)) {
        const state = states.get(e.customerId)!;
        if (e.msg.seq <= state.lastSeq) continue; // applied before a redelivery; nothing to do
        applyInteraction(state, e.interaction);
        state.counters[e.interaction.type] = (state.counters[e.interaction.type] ?? 0) + 1;
        state.eventsSeen += 1;
        state.lastSeq = e.msg.seq;
        const a: Applied = Object.assign(e, { state });
        applied.push(a);
        lastOf.set(state, a);
      }
      if (applied.length === 0) return { stored: [], states: states.values() };

      // the model part depends on the history alone: once per customer, after all its events
      const scoring = performance.now();
      const views = new Map<InteractionState, ModelView>();
      const tops = new ModelTops(lastOf.size, CANDIDATES);
      for (const state of lastOf.keys()) views.set(state, modelView(knn, state, tops.next()));
      metrics.scoreDuration.observe({ model: RECOMMEND_MODEL }, (performance.now() - scoring) / 1000);

      const wanted = new Set(applied.map((a) => a.interaction.data.item_id));
      for (const { top } of views.values()) for (let c = 0; c < top.count; c++) wanted.add(knn.items[top.items[c]!]!);
      const { counts, top } = await readPopularity(trx, [...wanted], CANDIDATES);
      const live = new LivePopularity(knn, counts, top, CANDIDATES);

      // in stream order, so each customer is blended with the popularity as of its last event
      const stats = new Map<string, ItemStatsDelta>();
      const recommendations: RecommendationRow[] = [];
      for (const a of applied) {
        const { type, data } = a.interaction;
        live.add(data.item_id, POPULARITY_WEIGHT[type]);
        addToStats(stats, a.interaction);
        if (lastOf.get(a.state) === a) {
          recommendations.push({ customer_id: a.customerId, items: blend(knn, views.get(a.state)!, live), stream_seq: a.msg.seq });
        }
      }
      await saveStates(trx, [...lastOf.keys()]);
      await addItemStats(trx, [...stats.values()]);
      await saveRecommendations(trx, { name: RECOMMEND_MODEL, version: knn.version }, recommendations);
      return { stored: recommendations, states: states.values() };
    });
    cache.put(states);
    metrics.dbWriteDuration.observe({ pipeline: "recommendations" }, (performance.now() - started) / 1000);
    metrics.predictions.inc({ model: RECOMMEND_MODEL }, stored.length);
    if (subscribers.any()) await publishGenerated(stored, knn.version);
    return outcomes;
  };

  return Object.assign(handler, { close: () => subscribers.stop() });
}

function addToStats(stats: Map<string, ItemStatsDelta>, e: Interaction): void {
  const item = e.data.item_id;
  let s = stats.get(item);
  if (!s) stats.set(item, (s = { item_id: item, views: 0, carts: 0, purchases: 0, ratings_sum: 0, ratings_count: 0, popularity: 0 }));
  if (e.type === "view") s.views++;
  else if (e.type === "add_to_cart") s.carts++;
  else if (e.type === "purchase") s.purchases++;
  else {
    s.ratings_sum += e.data.rating!;
    s.ratings_count++;
  }
  s.popularity += POPULARITY_WEIGHT[e.type];
}

/** The model's neighbour lists, from the same artifact the registry loaded (checked by its hash). */
async function readItemKnn(modelsDir: string, model: LoadedModel): Promise<ItemKnn> {
  const path = join(modelsDir, model.name, model.version, "model.onnx");
  const bytes = new Uint8Array(await readFile(path));
  if (createHash("sha256").update(bytes).digest("hex") !== model.sha256) {
    throw new ModelLoadError(`${path} changed since the model registry loaded it; restart to serve it`);
  }
  return loadItemKnn(model.card, bytes);
}
