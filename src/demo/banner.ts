import type { PublishCount } from "./events.ts";
import { HOT_LEAD } from "./leads.ts";
import { SPIKE_SERIES } from "./series.ts";
import { DEMO_SHOPPER } from "./shoppers.ts";

export interface SeededDemo {
  username: string;
  password: string;
  apiKey: string;
  data: Record<"customers" | "leads" | "series" | "shoppers", PublishCount>;
}

/** What the start command prints with demo data: where everything is, and one request per kind of data. */
export function demoBanner(u: string, seeded: SeededDemo): string {
  const curl = (path: string) => `curl -s '${u}${path}' -H 'X-API-Key: ${seeded.apiKey}'`;
  const kind = (name: string, { keys, events, published }: PublishCount, what: string, path: string) =>
    `  ${name.padEnd(12)} ${keys} ${what}, ${events} events (${published > 0 ? `${published} published now` : "published at an earlier start"})\n` +
    `               ${curl(path)}`;
  const { customers, leads, series, shoppers } = seeded.data;
  return `
Tidecast is running.
  API          ${u}/
  API docs     ${u}/docs            (OpenAPI: ${u}/openapi.json)
  Console      ${u}/console/        (sign in as the admin below)
  Jobs         ${u}/admin/queues    (bull-board, admins only)
  Health       ${u}/health/ready
  Metrics      ${u}/metrics
  Admin login  ${seeded.username} / ${seeded.password}
  Demo API key ${seeded.apiKey}

Demo data (the pipelines score it within seconds; alerts show in the console):
${kind("Customers", customers, "customers, telco and subscription (churn)", "/api/v1/customers/high-risk")}
${kind("Leads", leads, "B2B leads (lead scoring)", `/api/v1/alerts?type=lead.hot&entity_id=${HOT_LEAD}`)}
${kind("Series", series, "metric series (anomaly detection)", `/api/v1/alerts?type=anomaly&entity_id=${SPIKE_SERIES}`)}
${kind("Shoppers", shoppers, "shoppers (recommendations)", `/api/v1/recommendations/${DEMO_SHOPPER}`)}

Try a synchronous prediction:
  curl -s -X POST ${u}/api/predict/churn -H 'X-API-Key: ${seeded.apiKey}' -H 'Content-Type: application/json' \\
    -d '{"tenure": 3, "monthly_charges": 89.5, "contract_type": "Month-to-month"}'
`;
}
