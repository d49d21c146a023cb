export { AlertSchema, SEVERITIES } from "./alert.ts";
export { publishAlerts, relayPending } from "./relay.ts";
export { insertAlerts, toAlert } from "./store.ts";
export type { Alert, NewAlert } from "./alert.ts";
