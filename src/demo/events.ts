import type { Bus, EventDomain, EventEnvelope } from "../streams/index.ts";

/** One demo event; its id doubles as its Nats-Msg-Id, so it is the same on every start. */
export function demoEvent(domain: EventDomain, key: string, id: string, type: string, at: number, data: Record<string, unknown>): EventEnvelope {
  return { id, domain, key, type, data, timestamp: new Date(at).toISOString() };
}

export interface PublishCount {
  /** distinct keys (customers, leads, series, shoppers) among the events */
  keys: number;
  events: number;
  /** events published by this call: 0 on a restart */
  published: number;
}

/**
 * Publishes the events of every key whose subject holds no message yet, each key's in order. The
 * Nats-Msg-Id only dedups within the stream's duplicate window (minutes); the subject check is what
 * keeps a later restart from feeding the pipelines the same events twice (counts and aggregates
 * would grow). A key already in the stream (an earlier start, or a producer using the same key) is
 * left alone.
 */
export async function publishNew(bus: Bus, events: readonly EventEnvelope[]): Promise<PublishCount> {
  const byKey = new Map<string, EventEnvelope[]>();
  for (const e of events) {
    const id = `${e.domain}.${e.key}`;
    const own = byKey.get(id);
    if (own) own.push(e);
    else byKey.set(id, [e]);
  }
  const published = await Promise.all(
    [...byKey.values()].map(async (own) => {
      const { domain, key } = own[0]!;
      const subject = bus.names.eventSubject(domain, key);
      if (await bus.jsm.streams.getMessage(bus.names.events(domain), { last_by_subj: subject })) return 0;
      const acks = await Promise.all(own.map((e) => bus.publisher.publish("events", subject, e, { msgId: e.id })));
      return acks.filter((a) => !a.duplicate).length;
    }),
  );
  return { keys: byKey.size, events: events.length, published: published.reduce((a, b) => a + b, 0) };
}
