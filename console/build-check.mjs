// Plain JavaScript with no dependencies: the start command imports it before anything is installed.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The files a console build is made from (its sources, config and the shared event map). */
function sources(root) {
  const out = [join(root, "console", "index.html"), join(root, "console", "vite.config.ts"), join(root, "src", "console", "events.ts")];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk(join(root, "console", "src"));
  return out;
}

/** True when console/dist is missing or older than any of its sources. */
export function consoleBuildIsStale(root) {
  const built = join(root, "console", "dist", "index.html");
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  return sources(root).some((file) => existsSync(file) && statSync(file).mtimeMs > builtAt);
}
