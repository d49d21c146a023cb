/**
 * `customer_segments` 1.0.0: which RFM segment is this retail customer in? k-means on log-scaled,
 * standardised recency / frequency / monetary of the UCI Online Retail customers, k chosen by
 * silhouette, segments named from their centroids by written rules (`SEGMENT_RULES`).
 */
import { relative } from "node:path";
import { ROOT_DIR } from "../../config.ts";
import { ModelCardSchema, type FeatureSpec, type ModelCard } from "../../models/card.ts";
import { dayStart, isPurchase, loadRetail, RETAIL_DIR, RETAIL_FILE } from "../datasets/retail.ts";
import { fitKMeans, nameSegments, nearest, silhouette, squaredDistance, type KMeansFit, type RfmPoint } from "../kmeans.ts";
import { exportKMeans } from "../kmeans-onnx.ts";
import { applyRfmTransform, computeRfm, fitRfmTransform, RFM_FEATURES, type PurchaseLine, type Rfm, type RfmTransform } from "../rfm.ts";
import type { ParityFile, ParityRow, TrainedModel, TrainerEntry } from "../trainer.ts";

const NAME = "customer_segments";
const VERSION = "1.0.0";
const INPUT = "rfm";
const SEGMENT_OUTPUT = "segment";
const DISTANCES_OUTPUT = "distances";
const PARITY_TOLERANCE = 1e-5;

export interface SegmentOptions {
  /** candidate numbers of clusters; k = 2 is measured but not chosen (two segments are too coarse to act on) */
  kRange: [number, number];
  minK: number;
  seed: number;
  restarts: number;
  maxIterations: number;
  parityRows: number;
}

export const SEGMENT_DEFAULTS: SegmentOptions = { kRange: [2, 8], minK: 3, seed: 20240612, restarts: 10, maxIterations: 300, parityRows: 50 };

export interface SegmentSource {
  dataset: string;
  source: string;
  files: string[];
  notes: string;
}

/** A parity row of a clustering model: the segment id as `probability`, plus every distance. */
export interface SegmentParityRow extends ParityRow {
  distances: number[];
}

const round = (x: number, d = 6) => Number(x.toFixed(d));

/** Everything from purchase lines to card, ONNX and parity; `train` adds the dataset around it. */
export function buildCustomerSegments(
  lines: readonly PurchaseLine[],
  reference: number,
  source: SegmentSource,
  options: SegmentOptions = SEGMENT_DEFAULTS,
  log: (line: string) => void = () => {},
  now: Date = new Date(),
): TrainedModel {
  const customers = computeRfm(lines, reference);
  const transform = fitRfmTransform(customers);
  const points = customers.map((c) => applyRfmTransform(transform, c));
  log(`${NAME}: ${customers.length} customers from ${lines.length} purchase lines`);

  // choose k
  const byK: Record<string, { inertia: number; silhouette: number }> = {};
  let chosen: KMeansFit | undefined;
  let chosenSilhouette = -Infinity;
  for (let k = options.kRange[0]; k <= options.kRange[1]; k++) {
    const fit = fitKMeans(points, k, options);
    const s = silhouette(points, fit.assignments, k);
    byK[String(k)] = { inertia: round(fit.inertia, 3), silhouette: round(s) };
    log(`${NAME}: k=${k} inertia ${fit.inertia.toFixed(1)} silhouette ${s.toFixed(4)}`);
    if (k >= options.minK && s > chosenSilhouette) {
      chosen = fit;
      chosenSilhouette = s;
    }
  }
  if (!chosen) throw new RangeError(`no k in [${options.minK}, ${options.kRange[1]}]`);
  const best = chosen;

  // canonical order: most valuable segment first (value score descending, then recency score)
  const raw = best.centroids.map((c) => toRfm(transform, c));
  const named = nameSegments(raw, customers);
  const order = named.map((_, i) => i).sort((a, b) => {
    const x = named[a]!.scores;
    const y = named[b]!.scores;
    return y.value - x.value || y.r - x.r || a - b;
  });
  const centroids = order.map((i) => best.centroids[i]!);
  const segments = order.map((i) => ({ ...named[i]!, centroid: raw[i]! }));
  const assignments = Int32Array.from(points, (p) => nearest(p, centroids));
  const sizes = centroids.map((_, j) => assignments.filter((a) => a === j).length);
  const k = centroids.length;
  log(`${NAME}: chose k=${k} (silhouette ${chosenSilhouette.toFixed(4)}): ${segments.map((s, j) => `${s.name} ${sizes[j]}`).join(", ")}`);

  const features = featureSpecs(customers);
  const card: ModelCard = ModelCardSchema.parse({
    name: NAME,
    version: VERSION,
    display_name: "Customer RFM segments",
    description:
      "Assigns a retail customer to an RFM segment (Champions, Loyal customers, At risk, ...) from days since their last " +
      "purchase, their number of invoices and their total spend. k-means on log1p-transformed, standardised R, F, M of the " +
      "UCI Online Retail customers; the score is the segment id, `details` names it and gives the distance to every " +
      "centroid. Segment names come from rules on each centroid's population percentiles (see `segments`). Inputs outside " +
      "the training range are clipped to it (with a warning).",
    task: "clustering",
    algorithm: "kmeans",
    created_at: now.toISOString(),
    features,
    encoding: { input_name: INPUT, columns: RFM_FEATURES.map((feature) => ({ kind: "numeric", feature })) },
    outputs: { score_output: SEGMENT_OUTPUT, labels: segments.map((s) => s.name) },
    training: {
      dataset: source.dataset,
      source: source.source,
      files: source.files,
      rows: customers.length,
      synthetic: false,
      split: {
        method: "none: unsupervised, all customers are clustered; k is chosen by mean silhouette on the same customers",
        train_rows: customers.length,
        validation_rows: 0,
        seed: options.seed,
      },
      hyperparameters: {
        k,
        k_candidates: options.kRange,
        k_selection: `highest mean silhouette for k in [${options.minK}, ${options.kRange[1]}]; k=2 is measured but not eligible (too coarse to act on)`,
        by_k: byK,
        restarts: options.restarts,
        restart_seeds: `${options.seed}..${options.seed + options.restarts - 1} (restart with the lowest inertia kept)`,
        winning_seed: best.seed,
        max_iterations: options.maxIterations,
        iterations: best.iterations,
        converged: best.converged,
        initialization: "k-means++ (ml-kmeans 7)",
        transform: "z = (log1p(x) − mean) / sd per feature, means and sds of the customers' log1p values",
        log1p_means: transform.means,
        log1p_scales: transform.scales,
        reference_time: new Date(reference).toISOString(),
        rfm_definition:
          "recency_days = whole days from the last purchase to the reference time; frequency = distinct invoices; " +
          "monetary = Σ quantity × unit price (gross, GBP). Purchase lines: known customer, not a cancellation, quantity > 0, " +
          "price > 0, product stock codes only (postage, fees and manual adjustments excluded).",
        naming:
          "each centroid (back-transformed to R, F, M units) is scored against the customers: r = share less recent, " +
          "f = share with fewer invoices, m = share who spent less (mid-rank), value = (f + m) / 2; the first matching " +
          "rule names it: Champions r≥0.5 & value≥0.75; Loyal customers r≥0.5 & value≥0.5; New customers r≥0.5 & " +
          "frequency<1.5; Promising r≥0.5; At risk r<0.5 & value≥0.5; Hibernating otherwise. Segment ids are ordered by value, highest first (ties: more recent first).",
      },
      notes: [
        source.notes,
        `${customers.length} customers. k=${k} has the best silhouette among the eligible k (${Object.entries(byK)
          .map(([kk, v]) => `k=${kk}: ${v.silhouette.toFixed(3)}`)
          .join(", ")}); silhouettes of 0.3–0.4 mean overlapping, not well-separated clusters: RFM space is a continuum and ` +
          "the segments are a useful partition of it rather than natural groups.",
        "Distances in `details` are Euclidean in the standardised log1p space.",
      ]
        .filter((s) => s !== "")
        .join(" "),
    },
    metrics: {
      validation: {
        k,
        silhouette: round(chosenSilhouette),
        inertia: round(inertia(points, assignments, centroids), 3),
        rows: customers.length,
        ...Object.fromEntries(sizes.map((n, j) => [`size_${j}`, n])),
      },
    },
    feature_importance: separation(points, assignments, centroids),
    segments: {
      distances_output: DISTANCES_OUTPUT,
      distance: "Euclidean, on z = (log1p(x) − log1p_means) / log1p_scales",
      list: segments.map((s, j) => ({
        id: j,
        name: s.name,
        description: s.description,
        rule: s.rule,
        size: sizes[j]!,
        share: round(sizes[j]! / customers.length),
        centroid: { recency_days: round(s.centroid.recency_days, 2), frequency: round(s.centroid.frequency, 2), monetary: round(s.centroid.monetary, 2) },
        scores: { r: round(s.scores.r, 4), f: round(s.scores.f, 4), m: round(s.scores.m, 4), value: round(s.scores.value, 4) },
      })),
    },
  });

  const onnx = exportKMeans({
    graphName: NAME,
    inputName: INPUT,
    segmentOutput: SEGMENT_OUTPUT,
    distancesOutput: DISTANCES_OUTPUT,
    means: transform.means,
    scales: transform.scales,
    centroids,
    docString: `${card.display_name} ${VERSION}: k-means (k=${k}) on log1p-standardised RFM; "${SEGMENT_OUTPUT}" is the nearest centroid`,
    metadata: { model: NAME, version: VERSION },
  });
  return { card, onnx, parity: parityFile(customers, transform, centroids, options.parityRows) };
}

function toRfm(t: RfmTransform, z: readonly number[]): RfmPoint {
  const [r, f, m] = z.map((v, j) => Math.expm1(v * t.scales[j]! + t.means[j]!)) as [number, number, number];
  return { recency_days: r, frequency: f, monetary: m };
}

function featureSpecs(customers: readonly Rfm[]): FeatureSpec[] {
  const range = (key: (typeof RFM_FEATURES)[number]) => {
    let min = Infinity;
    let max = -Infinity;
    for (const c of customers) {
      min = Math.min(min, c[key]);
      max = Math.max(max, c[key]);
    }
    return { min, max };
  };
  const spec = (name: (typeof RFM_FEATURES)[number], type: "number" | "integer", description: string): FeatureSpec => ({
    name,
    type,
    required: true,
    description,
    ...range(name),
    out_of_range: "clip",
    unknown_category: "map_unknown",
  });
  return [
    spec("recency_days", "number", "days since the customer's last purchase"),
    spec("frequency", "integer", "number of distinct invoices (orders) in the period"),
    spec("monetary", "number", "total spend in the period (GBP, Σ quantity × unit price)"),
  ];
}

function inertia(points: readonly number[][], assignments: Int32Array, centroids: readonly number[][]): number {
  let sum = 0;
  points.forEach((p, i) => (sum += squaredDistance(p, centroids[assignments[i]!]!)));
  return sum;
}

/**
 * Per feature, the share of its variance (in the clustered space) explained by the segments:
 * 1 − within-segment sum of squares / total sum of squares. Which features separate the segments.
 */
function separation(points: readonly number[][], assignments: Int32Array, centroids: readonly number[][]): Record<string, number> {
  const out: Record<string, number> = {};
  RFM_FEATURES.forEach((name, j) => {
    const mean = points.reduce((a, p) => a + p[j]!, 0) / points.length;
    let within = 0;
    let total = 0;
    points.forEach((p, i) => {
      within += (p[j]! - centroids[assignments[i]!]![j]!) ** 2;
      total += (p[j]! - mean) ** 2;
    });
    out[name] = round(total > 0 ? 1 - within / total : 0);
  });
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

/** Evenly spaced customers, plus the extremes of each feature, with the trainer's distances. */
function parityFile(customers: readonly Rfm[], transform: RfmTransform, centroids: readonly number[][], wanted: number): ParityFile {
  const chosen = new Set<number>();
  for (const key of RFM_FEATURES) {
    let lo = 0;
    let hi = 0;
    customers.forEach((c, i) => {
      if (c[key] < customers[lo]![key]) lo = i;
      if (c[key] > customers[hi]![key]) hi = i;
    });
    chosen.add(lo).add(hi);
  }
  const step = customers.length / wanted;
  for (let s = 0; chosen.size < Math.min(wanted, customers.length); s++) chosen.add(Math.floor(s * step) % customers.length);
  const rows: SegmentParityRow[] = [...chosen]
    .sort((a, b) => a - b)
    .map((i) => {
      const c = customers[i]!;
      const z = applyRfmTransform(transform, c);
      const distances = centroids.map((m) => Math.sqrt(squaredDistance(z, m)));
      return {
        features: { recency_days: c.recency_days, frequency: c.frequency, monetary: c.monetary },
        probability: nearest(z, centroids),
        distances,
      };
    });
  return {
    model: NAME,
    version: VERSION,
    description:
      "Customers' RFM features with the trainer's float64 segment (as `probability`) and distance to each centroid; " +
      "onnxruntime must give the same segment and distances within tolerance.",
    tolerance: PARITY_TOLERANCE,
    rows,
  };
}

export const customerSegments: TrainerEntry = {
  name: NAME,
  version: VERSION,
  summary: "retail customer RFM segments, k-means on UCI Online Retail",
  async train({ datasetsDir, log, now }) {
    const data = await loadRetail(datasetsDir);
    const purchases = data.lines.filter(isPurchase);
    let last = 0;
    for (const l of purchases) last = Math.max(last, l.time);
    const reference = dayStart(last) + 86_400_000;
    log(`${NAME}: read ${data.lines.length} lines from ${data.file}; ${purchases.length} purchase lines`);
    const source: SegmentSource = {
      dataset: RETAIL_DIR,
      source: relative(ROOT_DIR, data.sourceFile),
      files: [RETAIL_FILE],
      notes:
        `Real data: ${RETAIL_FILE} (sha256 ${data.sha256}), every transaction from 2010-12-01 to 2011-06-05 (145 trading days). ` +
        `${purchases.length} of its ${data.lines.length} lines are purchases (the rest: no customer id, cancellations, ` +
        "returns, postage, fees, adjustments). RFM is measured at the day after the last transaction, so recency is at most " +
        "the 187-day window and frequency and spend cover that window only.",
    };
    return buildCustomerSegments(purchases, reference, source, SEGMENT_DEFAULTS, log, now);
  },
  async evaluationSet() {
    return undefined;
  },
};
