export { AlertSchema, SEVERITIES } from "./alert.ts";
export { publishAlerts, relayPending } from "./relay.ts";
export { insertAlerts, listAlerts, setAlertStatus, toAlert } from "./store.ts";
export type { AlertQuery } from "./store.ts";
export type { Alert, NewAlert } from "./alert.ts";
