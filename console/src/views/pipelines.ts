import { LitElement, html } from "lit";
import type { ConsumerInfoView, MetricsFrame } from "../../../src/console/events.ts";
import { api, ApiError } from "../api.ts";
import { num } from "../format.ts";
import { live } from "../live.ts";

interface DeadLetter {
  id: number;
  stream: string;
  subject: string;
  consumer: string;
  deliveries: number;
  error: string;
  failed_at: string;
}

/**
 * Per consumer: live pending, ack pending and redeliveries; the server's ack floor on demand (when
 * the view opens and on a click); dead letters with retry one / retry all.
 */
export class TcPipelines extends LitElement {
  static override properties = { frame: { attribute: false }, letters: { state: true }, message: { state: true }, consumers: { state: true } };
  frame: MetricsFrame | undefined;
  letters: DeadLetter[] = [];
  message = "";
  consumers: { at: Date; byName: Map<string, ConsumerInfoView> } | null = null;
  private seenDeadLetters = -1;

  protected override createRenderRoot() {
    return this;
  }

  override connectedCallback() {
    super.connectedCallback();
    void this.load();
    void this.inspect();
  }

  private async inspect() {
    try {
      const consumers = await live.inspectPipelines();
      this.consumers = { at: new Date(), byName: new Map(consumers.map((c) => [c.pipeline, c])) };
    } catch (err) {
      this.message = String(err instanceof Error ? err.message : err);
    }
  }

  protected override willUpdate() {
    // a new dead letter anywhere: fetch the list again (at most once a frame)
    const total = Object.values(this.frame?.pipelines ?? {}).reduce((s, p) => s + p.deadLettersTotal, 0);
    if (this.seenDeadLetters !== -1 && total !== this.seenDeadLetters) void this.load();
    this.seenDeadLetters = total;
  }

  private async load() {
    try {
      this.letters = (await api<{ items: DeadLetter[] }>("GET", "/api/v1/admin/dead-letters?limit=100")).items;
    } catch (err) {
      this.message = err instanceof ApiError ? err.message : String(err);
    }
  }

  private async retry(path: string, done: (body: unknown) => string) {
    try {
      this.message = done(await api("POST", path));
    } catch (err) {
      this.message = err instanceof ApiError ? err.message : String(err);
    }
    await this.load();
  }

  protected override render() {
    const pipelines = Object.entries(this.frame?.pipelines ?? {});
    return html`
      <div class="toolbar">
        <button @click=${() => this.inspect()}>Read ack floors</button>
        <small>${this.consumers ? `ack floors as of ${this.consumers.at.toLocaleTimeString("en-GB")}` : ""}</small>
      </div>
      <table data-testid="pipelines-table">
        <thead><tr><th>pipeline</th><th>stream</th><th>handled/s</th><th>pending</th><th>ack pending</th><th>ack floor</th><th>redeliveries</th><th>dead letters</th><th></th></tr></thead>
        <tbody>
          ${pipelines.map(
            ([name, p]) => html`<tr>
              <td><b>${name}</b></td><td>${p.stream}</td><td>${num(p.handledPerSec)}</td><td>${num(p.pending, 0)}</td><td>${num(p.ackPending, 0)}</td>
              <td data-testid="ack-floor-${name}">${num(this.consumers?.byName.get(name)?.ackFloor, 0)}</td>
              <td>${num(p.redeliveriesTotal, 0)} <small>(${num(p.redeliveriesPerSec)}/s)</small></td>
              <td>${this.letters.filter((l) => l.consumer === name).length}</td>
              <td>
                <button ?disabled=${!this.letters.some((l) => l.consumer === name)}
                  @click=${() => this.retry(`/api/v1/admin/dead-letters/retry-all?consumer=${encodeURIComponent(name)}`, (b) => `re-published ${(b as { retried: unknown[] }).retried.length}`)}>
                  Retry all
                </button>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
      <h2>Dead letters ${this.message ? html`<small class="note" data-testid="pipelines-message">${this.message}</small>` : ""}</h2>
      <table data-testid="dead-letters">
        <thead><tr><th>id</th><th>consumer</th><th>subject</th><th>deliveries</th><th>error</th><th>failed</th><th></th></tr></thead>
        <tbody>
          ${this.letters.map(
            (l) => html`<tr data-dead-letter=${l.id}>
              <td>${l.id}</td><td>${l.consumer}</td><td>${l.subject}</td><td>${l.deliveries}</td><td class="err">${l.error}</td><td>${l.failed_at.slice(11, 19)}</td>
              <td><button @click=${() => this.retry(`/api/v1/admin/dead-letters/${l.id}/retry`, () => `dead letter ${l.id} re-published`)}>Retry</button></td>
            </tr>`,
          )}
        </tbody>
      </table>
    `;
  }
}
customElements.define("tc-pipelines", TcPipelines);
