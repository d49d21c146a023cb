import { LitElement, html } from "lit";
import { api, ApiError } from "./api.ts";
import { live } from "./live.ts";
import "./views/alerts.ts";
import "./views/jobs.ts";
import "./views/models.ts";
import "./views/overview.ts";
import "./views/pipelines.ts";

type View = "overview" | "alerts" | "models" | "pipelines" | "jobs";

/** The shell: sign-in, navigation by role, and the current view fed by the live store. */
export class TcApp extends LitElement {
  static override properties = { view: { state: true }, loginError: { state: true } };
  view: View = viewFromHash();
  loginError = "";

  protected override createRenderRoot() {
    return this;
  }

  override connectedCallback() {
    super.connectedCallback();
    live.addEventListener("change", () => this.requestUpdate());
    window.addEventListener("hashchange", () => (this.view = viewFromHash()));
    live.connect();
  }

  private async login(e: SubmitEvent) {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    try {
      await api("POST", "/api/auth/login", { username: form.get("username"), password: form.get("password") });
      this.loginError = "";
      const next = new URLSearchParams(location.search).get("next");
      // only a path on this site: never an open redirect
      if (next && /^\/(?!\/)/.test(next)) location.assign(next);
      else live.connect();
    } catch (err) {
      this.loginError = err instanceof ApiError ? err.message : String(err);
    }
  }

  private async logout() {
    await api("POST", "/api/auth/logout");
    live.disconnect();
    live.connection = "signed-out";
    this.requestUpdate();
  }

  protected override render() {
    if (live.connection === "signed-out") return this.renderLogin();
    const s = live.snapshot;
    if (!s) return html`<p class="loading">Connecting…</p>`;
    const views: View[] = ["overview", "alerts", "models"];
    if (s.permissions.managePipelines) views.push("pipelines");
    if (s.permissions.manageJobs) views.push("jobs");
    const view = views.includes(this.view) ? this.view : "overview";
    return html`
      <header>
        <strong>Tidecast</strong>
        <nav>${views.map((v) => html`<a href="#${v}" class=${v === view ? "on" : ""}>${v}</a>`)}</nav>
        <span class="conn ${live.connection}" data-testid="connection">${live.connection}</span>
        <span>${s.user.username} <small>(${s.user.role})</small></span>
        <button @click=${() => this.logout()}>Sign out</button>
      </header>
      <main>${this.renderView(view)}</main>
    `;
  }

  private renderView(view: View) {
    const s = live.snapshot!;
    switch (view) {
      case "overview":
        return html`<tc-overview .frames=${live.frames} .alerts=${live.alerts}></tc-overview>`;
      case "alerts":
        return html`<tc-alerts .alerts=${live.alerts} ?canManage=${s.permissions.manageAlerts}></tc-alerts>`;
      case "models":
        return html`<tc-models ?canActivate=${s.permissions.manageModels}></tc-models>`;
      case "pipelines":
        return html`<tc-pipelines .frame=${live.frames.at(-1)}></tc-pipelines>`;
      case "jobs":
        return html`<tc-jobs></tc-jobs>`;
    }
  }

  private renderLogin() {
    return html`
      <form class="login" @submit=${(e: SubmitEvent) => this.login(e)}>
        <h1>Tidecast console</h1>
        <label>Username or email <input name="username" autocomplete="username" required /></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
        <button type="submit">Sign in</button>
        ${this.loginError ? html`<p class="error" data-testid="login-error">${this.loginError}</p>` : ""}
      </form>
    `;
  }
}

function viewFromHash(): View {
  const v = location.hash.slice(1);
  return (["overview", "alerts", "models", "pipelines", "jobs"] as const).find((x) => x === v) ?? "overview";
}
customElements.define("tc-app", TcApp);
