import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Knex } from "knex";
import { ConflictError, ModelNotFoundError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { ModelCardSchema, type ModelCard } from "./card.ts";
import { createEncoder, type Encoder } from "./encode.ts";
import { createExplainer, type Contributions } from "./explain.ts";
import { inputContractChanges } from "./input-contract.ts";
import { loadOnnxSession, runBatch, type OnnxSession } from "./onnx-runtime.ts";

/** One model version, ready to score. */
export interface LoadedModel {
  name: string;
  version: string;
  card: ModelCard;
  sha256: string;
  encoder: Encoder;
  explain: ((flat: Float32Array, offset: number) => Contributions) | null;
  /** scores `n` rows packed in `flat`: one probability or value per row */
  score(flat: Float32Array, n: number): Promise<Float32Array>;
  session: OnnxSession;
}

export class ModelLoadError extends Error {
  override name = "ModelLoadError";
}

/** A running A/B test of a model, as this process serves it: `percent` % of predictions go to `challenger`. */
export interface Challenger {
  model: LoadedModel;
  percent: number;
}

/**
 * Which of 100 buckets a prediction falls in: from its id, so a redelivered request is scored by
 * the same version, and the share of each version is the split, whatever sends the requests.
 */
export function splitBucket(key: string): number {
  return createHash("sha1").update(key).digest().readUInt32BE(0) % 100;
}

/** A version directory's name, major.minor.patch ("1.2.0"), as trainers write them. */
export const VERSION_PATTERN = /^\d{1,6}\.\d{1,6}\.\d{1,6}$/;

/**
 * The models this process serves: every version found under the models directory, with one active
 * version per model. Which version is active is recorded in Postgres, so every node agrees: a node
 * adopts it at start, and again when told that an admin activated another (see activation.ts).
 */
export class ModelRegistry {
  private readonly versions = new Map<string, Map<string, LoadedModel>>();
  private readonly active = new Map<string, LoadedModel>();
  /** the version B of each model under an A/B test (the active version is its A) */
  private readonly challengers = new Map<string, Challenger>();
  /** versions being loaded after start, so that two callers share one ONNX session */
  private readonly loading = new Map<string, Promise<LoadedModel>>();
  /** the models whose explanation tables this process builds ahead: see prepareExplainers */
  private explained: Set<string> | "all" = new Set();

  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Loads `<dir>/<name>/<version>/{card.json,model.onnx}` for every model found. */
  static async loadFromDir(dir: string, log: Logger): Promise<ModelRegistry> {
    const registry = new ModelRegistry(dir, log);
    for (const name of await listDirs(dir)) {
      for (const version of await listDirs(join(dir, name))) registry.add(await loadNamedVersion(dir, name, version));
    }
    for (const name of registry.versions.keys()) registry.active.set(name, registry.latest(name));
    return registry;
  }

  /**
   * A version of a served model, loaded from the models directory if it was written after this
   * process started (by `npm run train` or a training job); a 404 when there is no such version,
   * a 409 when its files do not load.
   */
  async ensureLoaded(name: string, version: string): Promise<LoadedModel> {
    const byVersion = this.versions.get(name);
    if (!byVersion) throw new ModelNotFoundError(name);
    const loaded = byVersion.get(version);
    if (loaded) return loaded;
    if (!VERSION_PATTERN.test(version)) throw new ModelNotFoundError(`${name}@${version}`);
    const key = `${name}@${version}`;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.loadLate(name, version).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async loadLate(name: string, version: string): Promise<LoadedModel> {
    const dir = join(this.dir, name, version);
    if (!(await stat(dir).catch(() => null))?.isDirectory()) throw new ModelNotFoundError(`${name}@${version}`);
    let model: LoadedModel;
    try {
      model = await loadNamedVersion(this.dir, name, version);
    } catch (err) {
      // the request is sound; the files are not: say what is wrong with them, not a 500
      throw new ConflictError(`${name} ${version} cannot be loaded: ${(err as Error).message}`, { model_id: name, version });
    }
    this.add(model);
    this.log.info({ model: name, version }, "model version loaded");
    return model;
  }

  /**
   * Makes `version` the model's active one, here and in Postgres (with who asked), and returns it
   * with the version it replaces. A version whose input contract differs is refused (409): it would break the model's
   * clients and the seed routes' schemas, so it belongs under a new model name.
   */
  async activate(db: Knex, name: string, version: string, activatedBy: number): Promise<{ model: LoadedModel; previous: LoadedModel }> {
    const previous = this.get(name);
    const model = await this.compatible(name, version);
    await db.transaction(async (trx) => {
      const modelId = await lockModel(trx, name);
      await recordVersion(trx, modelId, model);
      await endRunningTest(trx, modelId, activatedBy, `version ${version} activated`);
      await makeActive(trx, modelId, version, activatedBy);
    });
    this.challengers.delete(name);
    this.serve(model);
    return { model, previous };
  }

  /**
   * A version that may serve in place of the active one: loaded (404, 409 as ensureLoaded), and
   * taking the same input. One whose input contract differs is refused (409): it would break the
   * model's clients and the seed routes' schemas, so it belongs under a new model name.
   */
  private async compatible(name: string, version: string): Promise<LoadedModel> {
    const active = this.get(name);
    const model = await this.ensureLoaded(name, version);
    const changes = inputContractChanges(active.card, model.card);
    if (changes.length > 0) {
      throw new ConflictError(`${name} ${version} takes different input than the active ${active.version}: ${changes.join("; ")}`, {
        model_id: name,
        version,
        active_version: active.version,
        changes,
      });
    }
    return model;
  }

  /**
   * Starts an A/B test: `versionA` becomes (or stays) the active version and `versionB` takes
   * `percent` % of the scorer's predictions, until the test ends or a version is activated. A test
   * already running for the model ends first.
   */
  async startAbTest(db: Knex, name: string, versionA: string, versionB: string, percent: number, userId: number): Promise<{ a: LoadedModel; b: LoadedModel; previous: LoadedModel }> {
    if (versionA === versionB) throw new ConflictError("An A/B test needs two different versions", { version_a: versionA, version_b: versionB });
    const previous = this.get(name);
    const a = await this.compatible(name, versionA);
    const b = await this.compatible(name, versionB);
    await db.transaction(async (trx) => {
      const modelId = await lockModel(trx, name);
      await recordVersion(trx, modelId, a);
      await recordVersion(trx, modelId, b);
      await endRunningTest(trx, modelId, userId, "a new A/B test started");
      if (previous.version !== versionA) await makeActive(trx, modelId, versionA, userId);
      await trx("model_ab_tests").insert({ model_id: modelId, version_a: versionA, version_b: versionB, split: percent, started_by: userId });
    });
    this.serve(a);
    this.challenge(name, b, percent);
    return { a, b, previous };
  }

  /** Ends a model's running A/B test: its active version takes all predictions again. False when none runs. */
  async endAbTest(db: Knex, name: string, userId: number): Promise<boolean> {
    this.get(name);
    const ended = await db.transaction(async (trx) => endRunningTest(trx, await lockModel(trx, name), userId, "stopped"));
    this.challengers.delete(name);
    return ended;
  }

  /** The version that scores a prediction: under an A/B test, the challenger for its share of keys. */
  pick(name: string, key: string): LoadedModel {
    const active = this.get(name);
    const challenger = this.challengers.get(name);
    return challenger && splitBucket(key) < challenger.percent ? challenger.model : active;
  }

  /** A model's running A/B test as this process serves it, if any. */
  challengerOf(name: string): Challenger | undefined {
    return this.challengers.get(name);
  }

  private challenge(name: string, model: LoadedModel, percent: number): void {
    this.challengers.set(name, { model, percent });
    if (this.explainsAhead(model)) this.buildExplainers([model]);
  }

  /**
   * Records a version found in the models directory (loading it if it was written after start), so
   * it is listed everywhere and can be activated; it is not served until then. 404 when there is no
   * such directory, 409 when its files do not load.
   */
  async register(db: Knex, name: string, version: string): Promise<LoadedModel> {
    const model = await this.ensureLoaded(name, version);
    await db.transaction(async (trx) => {
      const row = await trx("models").where({ name }).first("id");
      await recordVersion(trx, row.id, model);
    });
    return model;
  }

  /** Serves the versions and A/B tests Postgres records, which another node may have changed. */
  async adoptActive(db: Knex): Promise<void> {
    const rows: { name: string; version: string }[] = await db("model_versions")
      .join("models", "models.id", "model_versions.model_id")
      .where({ is_active: true })
      .select("models.name", "model_versions.version");
    for (const { name, version } of rows) {
      if (!this.versions.has(name) || this.active.get(name)?.version === version) continue;
      try {
        this.serve(await this.ensureLoaded(name, version));
        this.log.info({ model: name, version }, "model version activated");
      } catch (err) {
        this.log.warn({ err, model: name, version }, "active version not on this node; still serving the previous one");
      }
    }
    await this.adoptTests(db);
  }

  private async adoptTests(db: Knex): Promise<void> {
    const tests: { name: string; version_b: string; split: number }[] = await db("model_ab_tests")
      .join("models", "models.id", "model_ab_tests.model_id")
      .where("model_ab_tests.status", "running")
      .select("models.name", "model_ab_tests.version_b", "model_ab_tests.split");
    const running = new Map(tests.map((t) => [t.name, t]));
    for (const name of this.challengers.keys()) if (!running.has(name)) this.challengers.delete(name);
    for (const { name, version_b: version, split } of running.values()) {
      const current = this.challengers.get(name);
      if (!this.versions.has(name) || (current?.model.version === version && current.percent === split)) continue;
      try {
        this.challenge(name, await this.ensureLoaded(name, version), split);
        this.log.info({ model: name, version, split }, "A/B test adopted");
      } catch (err) {
        this.challengers.delete(name);
        this.log.warn({ err, model: name, version }, "A/B test's version B not on this node; serving the active version alone");
      }
    }
  }

  private add(model: LoadedModel): void {
    let byVersion = this.versions.get(model.name);
    if (!byVersion) this.versions.set(model.name, (byVersion = new Map()));
    byVersion.set(model.version, model);
  }

  private latest(name: string): LoadedModel {
    const all = [...this.versions.get(name)!.values()];
    return all.sort((a, b) => compareVersions(b.version, a.version))[0]!;
  }

  /** The active version of a model, or a 404 MODEL_NOT_FOUND. */
  get(name: string): LoadedModel {
    const model = this.active.get(name);
    if (!model) throw new ModelNotFoundError(name);
    return model;
  }

  has(name: string): boolean {
    return this.active.has(name);
  }

  /** A given version, active or not, if this process holds it. */
  findVersion(name: string, version: string): LoadedModel | undefined {
    return this.versions.get(name)?.get(version);
  }

  /** A given version, active or not, or a 404 MODEL_NOT_FOUND. */
  getVersion(name: string, version: string): LoadedModel {
    const model = this.findVersion(name, version);
    if (!model) throw new ModelNotFoundError(`${name}@${version}`);
    return model;
  }

  /**
   * The version that scored a prediction, for presenting it with its own card; the active one when
   * this process has not loaded that version (a scorer elsewhere may have adopted a newer one first).
   */
  scoredBy(name: string, version: string): LoadedModel {
    return this.findVersion(name, version) ?? this.get(name);
  }

  listActive(): LoadedModel[] {
    return [...this.active.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Builds the explanation tables of the active versions of `names` (all models when omitted), one
   * model per macrotask, for a pipeline that explains what it scores. The tables are otherwise
   * built on a version's first explanation (see tree-shap.ts), which that first batch would wait
   * for (lead_conversion's take ~0.3 s); building them all at load cost every process ~1 s. A
   * version activated later has its tables built as it becomes active, too.
   */
  prepareExplainers(names?: readonly string[]): void {
    if (!names) this.explained = "all";
    else if (this.explained !== "all") for (const name of names) this.explained.add(name);
    this.buildExplainers(this.listActive().filter((m) => this.explainsAhead(m)));
  }

  private explainsAhead(model: LoadedModel): boolean {
    return model.explain !== null && (this.explained === "all" || this.explained.has(model.name));
  }

  private buildExplainers(models: LoadedModel[]): void {
    const [model, ...rest] = models;
    if (!model) return;
    setImmediate(() => {
      model.explain!(new Float32Array(model.encoder.width), 0);
      this.buildExplainers(rest);
    }).unref();
  }

  private serve(model: LoadedModel): void {
    this.active.set(model.name, model);
    if (this.explainsAhead(model)) this.buildExplainers([model]);
  }

  listVersions(name: string): LoadedModel[] {
    return [...(this.versions.get(name)?.values() ?? [])].sort((a, b) => compareVersions(b.version, a.version));
  }

  get size(): number {
    return this.active.size;
  }

  /**
   * Records every loaded version in Postgres and adopts the active versions stored there; a model
   * seen for the first time gets its newest version activated.
   */
  async syncWithDb(db: Knex): Promise<void> {
    await db.transaction(async (trx) => {
      for (const [name, byVersion] of this.versions) {
        const newest = this.latest(name);
        const [model] = await trx("models")
          .insert({ name, display_name: newest.card.display_name, description: newest.card.description, task: newest.card.task })
          .onConflict("name")
          .merge(["display_name", "description", "task"])
          .returning("id");
        for (const loaded of byVersion.values()) await recordVersion(trx, model.id, loaded);
        const active = await trx("model_versions").where({ model_id: model.id, is_active: true }).first("version");
        const chosen = active && byVersion.has(active.version) ? byVersion.get(active.version)! : newest;
        if (!active) {
          await trx("model_versions")
            .where({ model_id: model.id, version: chosen.version })
            .update({ is_active: true, activated_at: trx.fn.now() });
        } else if (!byVersion.has(active.version)) {
          this.log.warn({ model: name, version: active.version }, "active version not on this node; serving the newest");
        }
        this.active.set(name, chosen);
      }
    });
    await this.adoptTests(db);
  }

  async close(): Promise<void> {
    for (const byVersion of this.versions.values()) {
      for (const model of byVersion.values()) await model.session.release();
    }
    this.versions.clear();
    this.active.clear();
    this.challengers.clear();
  }
}

/** Locks the model's row: it orders concurrent activations and tests, one active version at a time. */
async function lockModel(trx: Knex.Transaction, name: string): Promise<number> {
  const row = await trx("models").where({ name }).forUpdate().first("id");
  return row.id as number;
}

async function makeActive(trx: Knex.Transaction, modelId: number, version: string, userId: number): Promise<void> {
  await trx("model_versions").where({ model_id: modelId, is_active: true }).update({ is_active: false });
  await trx("model_versions").where({ model_id: modelId, version }).update({ is_active: true, activated_at: trx.fn.now(), activated_by: userId });
}

async function endRunningTest(trx: Knex.Transaction, modelId: number, userId: number, reason: string): Promise<boolean> {
  const ended = await trx("model_ab_tests").where({ model_id: modelId, status: "running" }).update({ status: "ended", ended_at: trx.fn.now(), ended_by: userId, end_reason: reason });
  return ended > 0;
}

/** A version's row, with the card and artifact hash this node loaded. */
async function recordVersion(trx: Knex.Transaction, modelId: number, model: LoadedModel): Promise<void> {
  await trx("model_versions")
    .insert({ model_id: modelId, version: model.version, card: JSON.stringify(model.card), artifact_sha256: model.sha256 })
    .onConflict(["model_id", "version"])
    .merge(["card", "artifact_sha256"]);
}

async function loadNamedVersion(dir: string, name: string, version: string): Promise<LoadedModel> {
  const model = await loadVersion(join(dir, name, version));
  if (model.name !== name || model.version !== version) {
    throw new ModelLoadError(`${dir}/${name}/${version}: card says ${model.name}@${model.version}`);
  }
  return model;
}

async function loadVersion(dir: string): Promise<LoadedModel> {
  const cardPath = join(dir, "card.json");
  let card: ModelCard;
  try {
    card = ModelCardSchema.parse(JSON.parse(await readFile(cardPath, "utf8")));
  } catch (cause) {
    throw new ModelLoadError(`invalid model card ${cardPath}: ${(cause as Error).message}`, { cause });
  }
  const bytes = await readFile(join(dir, "model.onnx"));
  const session = await loadOnnxSession(new Uint8Array(bytes), card);
  return {
    name: card.name,
    version: card.version,
    card,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    encoder: createEncoder(card),
    explain: createExplainer(card),
    score: (flat, n) => runBatch(session, card, flat, n),
    session,
  };
}

async function listDirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** Compares dotted numeric versions ("1.10.0" > "1.9.2"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
