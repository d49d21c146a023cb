import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { renderDashboards } from "./dashboards.ts";
import { dashboardsYaml, datasourcesYaml } from "./provisioning.ts";

const PrometheusConfig = z.object({ global: z.object({ scrape_interval: z.string() }) });

/**
 * Every file `npm run grafana` writes, by path relative to the repository root. The datasource's
 * scrape interval is read from prometheus/prometheus.yml so the two cannot drift apart.
 */
export function generatedFiles(root: string): Map<string, string> {
  const prometheus = PrometheusConfig.parse(parse(readFileSync(join(root, "prometheus/prometheus.yml"), "utf8")));
  const files = new Map<string, string>();
  for (const [name, dashboard] of renderDashboards()) files.set(`grafana/dashboards/${name}`, `${JSON.stringify(dashboard, null, 2)}\n`);
  files.set("grafana/provisioning/datasources/datasources.yml", datasourcesYaml(prometheus.global.scrape_interval));
  files.set("grafana/provisioning/dashboards/dashboards.yml", dashboardsYaml());
  return files;
}
