// The start command of `npm start` and of the Docker image (with --install-only, the test command's
// pre-step). Plain JavaScript with no dependencies, because on a fresh clone nothing is installed
// yet: installs when node_modules is missing or older than the lockfile, builds the console when
// its build is stale, then runs the platform (with demo data unless NODE_ENV=production) and
// forwards signals to it.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { platformNodeFlags } from "./node-flags.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const installed = join(root, "node_modules", ".package-lock.json");
const lock = join(root, "package-lock.json");

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.log("Installing dependencies (npm ci)...");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// the console's static build (served at /console): rebuilt when missing or older than its sources
// (an image built without the console's sources has nothing to build)
const buildCheck = join(root, "console", "build-check.mjs");
const { consoleBuildIsStale } = existsSync(buildCheck) ? await import(pathToFileURL(buildCheck).href) : { consoleBuildIsStale: () => false };
if (consoleBuildIsStale(root)) {
  console.log("Building the console (npm run build:console)...");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["run", "build:console"], { cwd: root, stdio: "inherit" });
  // the API still runs without it (an install without devDependencies cannot build): /console then says how to build
  if (result.status !== 0) console.error("The console could not be built; the API runs without it.");
}

if (process.argv.includes("--install-only")) process.exit(0);

const args = [...platformNodeFlags(process.env.ROLE), "--import", "tsx", join(root, "src", "main.ts")];
if (process.env.NODE_ENV !== "production") args.push("--demo");
const child = spawn(process.execPath, args, { cwd: root, stdio: "inherit" });
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
