import { LitElement, html } from "lit";

/** bull-board, served by the API at /admin/queues for admins (the session cookie signs the frame in). */
export class TcJobs extends LitElement {
  protected override createRenderRoot() {
    return this;
  }

  protected override render() {
    return html`<p><a href="/admin/queues" target="_blank" rel="noopener">Open bull-board in its own tab</a></p>
      <iframe class="jobs" src="/admin/queues" title="bull-board"></iframe>`;
  }
}
customElements.define("tc-jobs", TcJobs);
