import { LitElement, html } from "lit";
import type { ConsoleAlert } from "../../../src/console/events.ts";
import { api, ApiError } from "../api.ts";
import { time } from "../format.ts";
import { live } from "../live.ts";

/** The live alert feed; operators and admins acknowledge and resolve (the API checks the role). */
export class TcAlerts extends LitElement {
  static override properties = { alerts: { attribute: false }, canManage: { type: Boolean }, status: { state: true }, error: { state: true } };
  alerts: ConsoleAlert[] = [];
  canManage = false;
  status: "all" | ConsoleAlert["status"] = "all";
  error = "";

  protected override createRenderRoot() {
    return this;
  }

  private async move(alert: ConsoleAlert, action: "acknowledge" | "resolve") {
    try {
      live.updateAlert(await api<ConsoleAlert>("POST", `/api/v1/alerts/${alert.id}/${action}`));
      this.error = "";
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    }
  }

  protected override render() {
    const shown = this.alerts.filter((a) => this.status === "all" || a.status === this.status);
    return html`
      <div class="toolbar">
        <label>Status
          <select @change=${(e: Event) => (this.status = (e.target as HTMLSelectElement).value as typeof this.status)}>
            ${["all", "open", "acknowledged", "resolved"].map((s) => html`<option ?selected=${s === this.status}>${s}</option>`)}
          </select>
        </label>
        ${this.error ? html`<span class="error">${this.error}</span>` : ""}
      </div>
      <table data-testid="alerts-table">
        <thead><tr><th>time</th><th>severity</th><th>type</th><th>entity</th><th>message</th><th>status</th><th></th></tr></thead>
        <tbody>
          ${shown.map(
            (a) => html`<tr data-alert-entity=${a.entity_id}>
              <td>${time(a.created_at)}</td>
              <td><span class="sev ${a.severity}">${a.severity}</span></td>
              <td>${a.type}</td>
              <td>${a.entity_type} ${a.entity_id}</td>
              <td>${a.message}</td>
              <td>${a.status}</td>
              <td>
                ${this.canManage && a.status === "open" ? html`<button @click=${() => this.move(a, "acknowledge")}>Acknowledge</button>` : ""}
                ${this.canManage && a.status !== "resolved" ? html`<button @click=${() => this.move(a, "resolve")}>Resolve</button>` : ""}
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    `;
  }
}
customElements.define("tc-alerts", TcAlerts);
