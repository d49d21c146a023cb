import grafana from "grafana-dash-gen";

/** Datasource uids the provisioning file gives both datasources; panels and variables refer to them. */
export const PROMETHEUS = { type: "prometheus", uid: "tidecast-prometheus" } as const;
export const POSTGRES = { type: "grafana-postgresql-datasource", uid: "tidecast-postgres" } as const;

/** The Postgres schema Tidecast writes to (DATABASE_SCHEMA); a dashboard variable so another install can change it. */
export const SCHEMA_VARIABLE = "schema";
export const DEFAULT_SCHEMA = "tidecast";

export interface PromQuery {
  expr: string;
  legend: string;
  /** "heatmap" turns cumulative `le` buckets into per-bucket counts */
  format?: "time_series" | "heatmap";
}

export interface SqlQuery {
  sql: string;
  format: "table" | "time_series";
}

interface PanelOptions {
  title: string;
  description: string;
  /** width in twelfths of the dashboard, as grafana-dash-gen's `span` */
  span: number;
  unit?: string;
  /** a dashboard variable to repeat the panel for, one copy per value */
  repeat?: string;
}

// grafana-dash-gen exports its panel and template classes as values of namespaces, not as types
type Graph = InstanceType<typeof grafana.Panels.Graph>;
type Table = InstanceType<typeof grafana.Panels.Table>;
type Variable = InstanceType<typeof grafana.Templates.Query> | InstanceType<typeof grafana.Templates.Custom>;
type DatasourceRef = typeof PROMETHEUS | typeof POSTGRES;

const REF_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

function promTargets(queries: readonly PromQuery[]) {
  return queries.map((q, i) => ({
    refId: REF_IDS[i],
    datasource: PROMETHEUS,
    editorMode: "code",
    expr: q.expr,
    legendFormat: q.legend,
    format: q.format ?? "time_series",
    range: true,
  }));
}

function sqlTargets(queries: readonly SqlQuery[]) {
  return queries.map((q, i) => ({
    refId: REF_IDS[i],
    datasource: POSTGRES,
    editorMode: "code",
    rawQuery: true,
    rawSql: q.sql,
    format: q.format,
  }));
}

function repeatOptions(repeat: string | undefined) {
  return repeat ? { repeat, repeatDirection: "h", maxPerRow: 4 } : {};
}

// grafana-dash-gen builds Graphite-era panels: its targets are Graphite strings, so Prometheus and SQL
// targets are set on the panel's state directly, and `type` names the current Grafana panel.
function graphPanel(type: string, o: PanelOptions, datasource: DatasourceRef, targets: object[], extra: object): Graph {
  const panel = new grafana.Panels.Graph({ title: o.title, span: o.span, datasource });
  Object.assign(panel.state, { type, description: o.description, targets, ...repeatOptions(o.repeat), ...extra });
  return panel;
}

/** Lines over time, one per series of each query. */
export function timeseries(o: PanelOptions & { queries: readonly PromQuery[]; stack?: boolean; bars?: boolean }) {
  return graphPanel("timeseries", o, PROMETHEUS, promTargets(o.queries), {
    fieldConfig: {
      defaults: {
        unit: o.unit ?? "short",
        min: 0,
        custom: {
          drawStyle: o.bars ? "bars" : "line",
          fillOpacity: o.stack || o.bars ? 60 : 10,
          stacking: { mode: o.stack ? "normal" : "none", group: "A" },
          spanNulls: false,
        },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: "table", placement: "bottom", calcs: ["mean", "max", "lastNotNull"] },
      tooltip: { mode: "multi", sort: "desc" },
    },
  });
}

/** A Prometheus histogram's buckets over time, one cell per bucket and interval. */
export function heatmap(o: PanelOptions & { query: PromQuery }) {
  return graphPanel("heatmap", o, PROMETHEUS, promTargets([{ ...o.query, format: "heatmap" }]), {
    options: {
      calculate: false,
      yAxis: { unit: o.unit ?? "short" },
      color: { mode: "scheme", scheme: "Oranges", steps: 64 },
      cellValues: { unit: "short" },
      tooltip: { mode: "single", yHistogram: true },
    },
  });
}

/** Bars from a SQL query's rows: the first (text) column labels the bars, the others are their values. */
export function sqlBarChart(o: PanelOptions & { query: SqlQuery }) {
  return graphPanel("barchart", o, POSTGRES, sqlTargets([o.query]), {
    fieldConfig: { defaults: { unit: o.unit ?? "short", min: 0 }, overrides: [] },
    options: { orientation: "horizontal", showValue: "auto", legend: { displayMode: "list", placement: "bottom" } },
  });
}

/** Lines over time from a SQL query returning `time`, `metric` and a value column. */
export function sqlTimeseries(o: PanelOptions & { query: SqlQuery }) {
  return graphPanel("timeseries", o, POSTGRES, sqlTargets([o.query]), {
    fieldConfig: { defaults: { unit: o.unit ?? "short", min: 0, custom: { drawStyle: "bars", fillOpacity: 60 } }, overrides: [] },
    options: { legend: { displayMode: "table", placement: "bottom", calcs: ["sum"] }, tooltip: { mode: "multi", sort: "desc" } },
  });
}

/** Rows of a SQL query as a table. */
export function sqlTable(o: PanelOptions & { query: SqlQuery }) {
  const panel = new grafana.Panels.Table({ title: o.title, span: o.span, datasource: POSTGRES });
  Object.assign(panel.state, {
    description: o.description,
    targets: sqlTargets([o.query]),
    fieldConfig: { defaults: { unit: o.unit ?? "short" }, overrides: [] },
    options: { showHeader: true, cellHeight: "sm", footer: { show: false } },
  });
  return panel;
}

/** A row of panels; its height in pixels as grafana-dash-gen's rows have it. */
export function row(title: string, panels: Array<Graph | Table>, height = 280): grafana.Row {
  const r = new grafana.Row({ title, height: `${height}px` });
  for (const p of panels) r.addPanel(p);
  return r;
}

/** A multi-value variable listing one label's values in Prometheus, "All" meaning any value. */
export function labelVariable(name: string, label: string, metric: string) {
  return new grafana.Templates.Query(`label_values(${metric}, ${label})`, {
    name,
    label,
    // grafana-dash-gen types `datasource` as a name; Grafana also takes a {type, uid} reference
    datasource: PROMETHEUS as unknown as string,
    includeAll: true,
    allValue: ".*",
    multi: true,
    refresh: 2 as unknown as boolean,
  });
}

/** The Postgres schema, a text box defaulting to Tidecast's own. */
export function schemaVariable() {
  return new grafana.Templates.Custom({
    name: SCHEMA_VARIABLE,
    label: "Postgres schema",
    type: "textbox",
    query: DEFAULT_SCHEMA,
    current: { text: DEFAULT_SCHEMA, value: DEFAULT_SCHEMA },
    options: [],
  });
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  variables: Variable[];
  rows: grafana.Row[];
}

// What a current Grafana panel reads; grafana-dash-gen's panels also carry Graphite-era defaults
// (flot renderer, spans, y_formats) that would only clutter the JSON.
const PANEL_KEYS = ["id", "type", "title", "description", "datasource", "targets", "fieldConfig", "options", "repeat", "repeatDirection", "maxPerRow"];
// Grafana's grid is 24 columns wide and about 30 px per height unit.
const GRID_COLUMNS = 24;
const GRID_UNIT_PX = 30;

/**
 * The dashboard as Grafana 11 stores it. grafana-dash-gen emits the pre-5.0 `rows` layout; this lays
 * the rows out on the grid (`gridPos`), each under a row header, with ids numbered in order so the
 * output is the same on every run.
 */
export function renderDashboard(spec: DashboardSpec): Record<string, unknown> {
  const dashboard = new grafana.Dashboard({ title: spec.title, tags: spec.tags, refresh: "30s", time: { from: "now-1h", to: "now" } });
  for (const v of spec.variables) dashboard.addTemplate(v);
  for (const r of spec.rows) dashboard.addRow(r);
  const generated = dashboard.generate();
  const panels: Array<Record<string, unknown>> = [];
  let y = 0;
  for (const r of generated.rows ?? []) {
    panels.push({ id: panels.length + 1, type: "row", title: r.title, collapsed: false, gridPos: { h: 1, w: GRID_COLUMNS, x: 0, y }, panels: [] });
    y += 1;
    const h = Math.ceil(Number.parseInt(r.height ?? "250", 10) / GRID_UNIT_PX);
    let x = 0;
    for (const p of r.panels) {
      const w = Math.min(GRID_COLUMNS, (p.span ?? 12) * 2);
      if (x + w > GRID_COLUMNS) {
        x = 0;
        y += h;
      }
      const panel: Record<string, unknown> = Object.fromEntries(PANEL_KEYS.filter((k) => k in p).map((k) => [k, p[k]]));
      panels.push({ ...panel, id: panels.length + 1, gridPos: { h, w, x, y } });
      x += w;
    }
    y += h;
  }
  return {
    uid: spec.uid,
    title: generated.title,
    description: spec.description,
    tags: generated.tags,
    timezone: generated.timezone,
    editable: generated.editable,
    graphTooltip: 1,
    refresh: generated.refresh,
    time: generated.time,
    templating: generated.templating,
    annotations: { list: [] },
    links: generated.links,
    panels,
    schemaVersion: 39,
    version: 1,
  };
}
