// `npm run grafana`: writes the dashboards and Grafana's provisioning files, and removes dashboards
// no longer generated. The output is the same on every run, so it is committed and diffs show changes.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generatedFiles } from "./output.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const files = generatedFiles(root);
const dashboardsDir = join(root, "grafana/dashboards");
mkdirSync(dashboardsDir, { recursive: true });
for (const name of readdirSync(dashboardsDir)) {
  if (name.endsWith(".json") && !files.has(`grafana/dashboards/${name}`)) rmSync(join(dashboardsDir, name));
}
for (const [path, content] of files) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
  console.log(`wrote ${path}`);
}
