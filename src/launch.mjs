// The start command (and, with --install-only, the test command's pre-step). Plain JavaScript with
// no dependencies, because on a fresh clone nothing is installed yet: installs when node_modules is
// missing or older than the lockfile, then runs the platform (with demo data unless
// NODE_ENV=production) and forwards signals to it.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const installed = join(root, "node_modules", ".package-lock.json");
const lock = join(root, "package-lock.json");

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.log("Installing dependencies (npm ci)...");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (process.argv.includes("--install-only")) process.exit(0);

const args = ["--import", "tsx", join(root, "src", "main.ts")];
if (process.env.NODE_ENV !== "production") args.push("--demo");
const child = spawn(process.execPath, args, { cwd: root, stdio: "inherit" });
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
