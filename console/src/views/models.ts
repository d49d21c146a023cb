import { LitElement, html } from "lit";
import { api, ApiError } from "../api.ts";
import { num } from "../format.ts";

interface ModelSummary {
  model_id: string;
  display_name: string;
  algorithm: string;
  version: string;
  versions: string[];
  metrics: Record<string, number>;
}
interface Version {
  version: string;
  active: boolean;
  created_at: string;
  algorithm: string;
  metrics: Record<string, number>;
  activated_at: string | null;
  activated_by: string | null;
}

/** Each model's versions, the active one, its card metrics and feature importance; admins activate a version. */
export class TcModels extends LitElement {
  static override properties = {
    canActivate: { type: Boolean },
    models: { state: true },
    selected: { state: true },
    versions: { state: true },
    importance: { state: true },
    message: { state: true },
  };
  canActivate = false;
  models: ModelSummary[] = [];
  selected = "";
  versions: Version[] = [];
  importance: Array<[string, number]> = [];
  message = "";

  protected override createRenderRoot() {
    return this;
  }

  override async connectedCallback() {
    super.connectedCallback();
    this.models = (await api<{ items: ModelSummary[] }>("GET", "/api/v1/models")).items;
    if (this.models[0]) await this.select(this.models[0].model_id);
  }

  private async select(id: string) {
    this.selected = id;
    const [versions, importance] = await Promise.all([
      api<{ items: Version[] }>("GET", `/api/v1/models/${encodeURIComponent(id)}/versions`),
      api<{ feature_importance: Record<string, number> }>("GET", `/api/v1/analytics/feature-importance?model_id=${encodeURIComponent(id)}`),
    ]);
    this.versions = versions.items;
    this.importance = Object.entries(importance.feature_importance).slice(0, 15);
  }

  private async activate(version: string) {
    const id = this.selected;
    try {
      const res = await api<{ previous_version: string }>("POST", `/api/v1/models/${encodeURIComponent(id)}/activate`, { version });
      this.message = `${id} ${version} is now served (was ${res.previous_version})`;
      this.models = (await api<{ items: ModelSummary[] }>("GET", "/api/v1/models")).items;
      await this.select(id);
    } catch (err) {
      this.message = err instanceof ApiError ? err.message : String(err);
    }
  }

  protected override render() {
    const max = Math.max(...this.importance.map(([, v]) => v), 1e-9);
    return html`
      <div class="split">
        <ul class="list">
          ${this.models.map(
            (m) => html`<li class=${m.model_id === this.selected ? "on" : ""} @click=${() => {
              this.message = "";
              void this.select(m.model_id);
            }}>
              <b>${m.model_id}</b> <small>${m.version} · ${m.algorithm}</small>
            </li>`,
          )}
        </ul>
        <div>
          <h2>${this.selected} ${this.message ? html`<small class="note" data-testid="models-message">${this.message}</small>` : ""}</h2>
          <table>
            <thead><tr><th>version</th><th>active</th><th>algorithm</th><th>created</th><th>last activated</th><th>validation metrics</th></tr></thead>
            <tbody>
              ${this.versions.map(
                (v) => html`<tr data-version=${v.version}>
                  <td>${v.version}</td>
                  <td>${v.active ? "● active" : this.canActivate ? html`<button @click=${() => this.activate(v.version)}>Activate</button>` : ""}</td><td>${v.algorithm}</td><td>${v.created_at.slice(0, 10)}</td>
                  <td>${v.activated_at ? `${v.activated_at.slice(0, 16).replace("T", " ")} UTC${v.activated_by ? ` by ${v.activated_by}` : ""}` : ""}</td>
                  <td>${Object.entries(v.metrics).map(([k, x]) => html`<span class="metric">${k} ${num(x, 4)}</span>`)}</td>
                </tr>`,
              )}
            </tbody>
          </table>
          <h3>Feature importance</h3>
          <div class="bars" data-testid="feature-importance">
            ${this.importance.map(
              ([name, v]) => html`<div class="bar"><span class="name">${name}</span><span class="fill" style="width:${(v / max) * 100}%"></span><span>${num(v, 3)}</span></div>`,
            )}
          </div>
        </div>
      </div>
    `;
  }
}
customElements.define("tc-models", TcModels);
