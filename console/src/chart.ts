import { LitElement, html } from "lit";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MetricsFrame } from "../../src/console/events.ts";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

/** A line per key of `pick(frame)` over the metrics window, redrawn on every frame. */
export class TcChart extends LitElement {
  static override properties = { label: {}, frames: { attribute: false }, pick: { attribute: false } };
  label = "";
  frames: MetricsFrame[] = [];
  pick: (f: MetricsFrame) => Record<string, number | null> = () => ({});
  private plot: uPlot | null = null;
  private keys = "";
  private readonly resize = new ResizeObserver(() => this.plot?.setSize(this.size()));

  // light DOM: uPlot's stylesheet is global
  protected override createRenderRoot() {
    return this;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.resize.observe(this);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
    this.keys = "";
  }

  protected override render() {
    return html`<h3>${this.label}</h3><div class="plot"></div>`;
  }

  protected override updated(): void {
    const picked = this.frames.map((f) => this.pick(f));
    const names = [...new Set(picked.flatMap((p) => Object.keys(p)))].sort();
    const data: uPlot.AlignedData = [this.frames.map((f) => f.t / 1000), ...names.map((n) => picked.map((p) => p[n] ?? null))];
    const target = this.querySelector<HTMLElement>(".plot")!;
    if (!this.plot || this.keys !== names.join("|")) {
      this.plot?.destroy();
      this.keys = names.join("|");
      this.plot = new uPlot(
        {
          ...this.size(),
          legend: { show: true, live: false },
          cursor: { show: false },
          scales: { y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, (max ?? 1) * 1.1)] } },
          series: [{}, ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false }))],
        },
        data,
        target,
      );
    } else {
      this.plot.setData(data);
    }
  }

  private size() {
    return { width: Math.max(200, this.clientWidth - 8), height: 160 };
  }
}
customElements.define("tc-chart", TcChart);
