export { announceAlertStatus } from "./alert-status.ts";
export { bullBoard, BULL_BOARD_PATH } from "./bull-board.ts";
export { attachConsole } from "./socket-server.ts";
export { startSnapshotPublisher } from "./snapshot.ts";
export type { ClientToServerEvents, ConsoleAlert, ConsoleSnapshot, MetricsFrame, ServerToClientEvents } from "./events.ts";
