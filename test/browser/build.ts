import { spawnSync } from "node:child_process";
import { ROOT_DIR } from "../../src/config.ts";
// @ts-expect-error plain JavaScript module without type declarations (the start command imports it before any install)
import { consoleBuildIsStale } from "../../console/build-check.mjs";

/** Builds console/dist when it is missing or stale, as the start and test commands do. */
export function ensureConsoleBuilt(): void {
  if (!(consoleBuildIsStale as (root: string) => boolean)(ROOT_DIR)) return;
  const result = spawnSync("npm", ["run", "build:console"], { cwd: ROOT_DIR, stdio: "inherit" });
  if (result.status !== 0) throw new Error("npm run build:console failed");
}
