import { LitElement, html } from "lit";
import type { ConsoleAlert, MetricsFrame } from "../../../src/console/events.ts";
import "../chart.ts";
import { num, percent, sum, time } from "../format.ts";

/** Live numbers and lines, one frame a second. */
export class TcOverview extends LitElement {
  static override properties = { frames: { attribute: false }, alerts: { attribute: false } };
  frames: MetricsFrame[] = [];
  alerts: ConsoleAlert[] = [];

  protected override createRenderRoot() {
    return this;
  }

  protected override render() {
    const f = this.frames.at(-1);
    const pipelines = Object.entries(f?.pipelines ?? {});
    const tile = (id: string, label: string, value: string) =>
      html`<div class="tile"><span class="label">${label}</span><span class="value" data-testid=${id}>${value}</span></div>`;
    return html`
      <section class="tiles">
        ${tile("events-per-sec", "events/s", num(f ? sum(f.eventsPerSec) : null))}
        ${tile("predictions-per-sec", "predictions/s", num(f ? sum(f.predictionsPerSec) : null))}
        ${tile("sync-p50", "sync p50 (ms)", num(f?.sync.p50, 2))}
        ${tile("sync-p99", "sync p99 (ms)", num(f?.sync.p99, 2))}
        ${tile("error-rate", "error rate", f ? percent(f.errors.rate) : "—")}
        ${tile("pending", "pending", num(f ? pipelines.reduce((s, [, p]) => s + (p.pending ?? 0), 0) : null, 0))}
        ${tile("redeliveries", "redeliveries/s", num(f ? pipelines.reduce((s, [, p]) => s + p.redeliveriesPerSec, 0) : null))}
        ${tile("processes", "processes", num(f?.processes, 0))}
      </section>
      <section class="charts">
        <tc-chart label="events/s per stream" .frames=${this.frames} .pick=${(x: MetricsFrame) => x.eventsPerSec}></tc-chart>
        <tc-chart label="predictions/s per model" .frames=${this.frames} .pick=${(x: MetricsFrame) => x.predictionsPerSec}></tc-chart>
        <tc-chart label="sync latency (ms)" .frames=${this.frames} .pick=${(x: MetricsFrame) => ({ p50: x.sync.p50, p99: x.sync.p99 })}></tc-chart>
        <tc-chart label="errors/s" .frames=${this.frames} .pick=${(x: MetricsFrame) => ({ errors: x.errors.perSec })}></tc-chart>
        <tc-chart label="consumer pending" .frames=${this.frames} .pick=${(x: MetricsFrame) => mapPipelines(x, (p) => p.pending)}></tc-chart>
        <tc-chart label="redeliveries/s per pipeline" .frames=${this.frames} .pick=${(x: MetricsFrame) => mapPipelines(x, (p) => p.redeliveriesPerSec)}></tc-chart>
      </section>
      <section>
        <h2>Latest alerts</h2>
        <ul class="feed" data-testid="overview-alerts">
          ${this.alerts.slice(0, 8).map(
            (a) => html`<li><span class="sev ${a.severity}">${a.severity}</span> <b>${a.type}</b> ${a.entity_id} · ${time(a.created_at)}</li>`,
          )}
        </ul>
      </section>
    `;
  }
}

function mapPipelines(f: MetricsFrame, value: (p: MetricsFrame["pipelines"][string]) => number | null): Record<string, number | null> {
  return Object.fromEntries(Object.entries(f.pipelines).map(([name, p]) => [name, value(p)]));
}
customElements.define("tc-overview", TcOverview);
