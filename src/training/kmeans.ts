/**
 * k-means clustering (Lloyd's algorithm with k-means++ seeding, from the `ml-kmeans` library), the
 * silhouette and inertia used to choose k, and the rules that name RFM segments from centroids.
 * Written here: restarts and the choice of the best run, the silhouette, the canonical cluster
 * order and the naming rules. The library does the iterations.
 */
import { kmeans } from "ml-kmeans";

export interface KMeansOptions {
  /** base seed; restart r uses seed + r */
  seed: number;
  /** independent k-means++ runs; the one with the lowest inertia is kept */
  restarts: number;
  maxIterations: number;
}

export interface KMeansFit {
  k: number;
  /** centroids in the clustered space, one row per cluster */
  centroids: number[][];
  /** cluster of each point */
  assignments: Int32Array;
  /** Σ squared distance of each point to its centroid */
  inertia: number;
  iterations: number;
  converged: boolean;
  /** seed of the winning restart */
  seed: number;
}

export function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let d = 0; d < a.length; d++) s += (a[d]! - b[d]!) ** 2;
  return s;
}

/** Index of the nearest centroid (ties: the lower index, as ONNX ArgMin). */
export function nearest(point: ArrayLike<number>, centroids: readonly ArrayLike<number>[]): number {
  let best = 0;
  let bestDistance = Infinity;
  centroids.forEach((c, j) => {
    const d = squaredDistance(point, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = j;
    }
  });
  return best;
}

/**
 * Best of `restarts` seeded k-means++ runs by inertia. Points are reassigned to their nearest final
 * centroid (the library reports the assignment of its last step, before the last centroid update).
 */
export function fitKMeans(points: number[][], k: number, options: KMeansOptions): KMeansFit {
  if (points.length < k) throw new RangeError(`${points.length} points cannot make ${k} clusters`);
  let best: KMeansFit | undefined;
  for (let r = 0; r < options.restarts; r++) {
    const seed = options.seed + r;
    const result = kmeans(points, k, { seed, initialization: "kmeans++", maxIterations: options.maxIterations, tolerance: 1e-10 });
    const centroids = result.centroids.map((c) => [...c]);
    const assignments = Int32Array.from(points, (p) => nearest(p, centroids));
    let inertia = 0;
    points.forEach((p, i) => (inertia += squaredDistance(p, centroids[assignments[i]!]!)));
    if (!best || inertia < best.inertia) {
      best = { k, centroids, assignments, inertia, iterations: result.iterations, converged: result.converged, seed };
    }
  }
  return best!;
}

/**
 * Mean silhouette coefficient (Rousseeuw 1987) with Euclidean distance: for each point,
 * (b − a) / max(a, b) where a is its mean distance to its own cluster and b the smallest mean
 * distance to another cluster; 0 for a point alone in its cluster. O(n²): about a second for the
 * 2,750 retail customers.
 */
export function silhouette(points: readonly ArrayLike<number>[], assignments: ArrayLike<number>, k: number): number {
  const n = points.length;
  if (n < 2) return 0;
  const sizes = new Float64Array(k);
  for (let i = 0; i < n; i++) sizes[assignments[i]!]!++;
  const sums = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    const p = points[i]!;
    for (let j = 0; j < n; j++) if (j !== i) sums[assignments[j]!]! += Math.sqrt(squaredDistance(p, points[j]!));
    const own = assignments[i]!;
    if (sizes[own]! <= 1) continue;
    const a = sums[own]! / (sizes[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && sizes[c]! > 0) b = Math.min(b, sums[c]! / sizes[c]!);
    if (Number.isFinite(b)) total += (b - a) / Math.max(a, b);
  }
  return total / n;
}

/** One customer or centroid in RFM units. */
export interface RfmPoint {
  recency_days: number;
  frequency: number;
  monetary: number;
}

export interface SegmentScores {
  /** share of customers less recent than this point (1 = more recent than everyone) */
  r: number;
  /** share of customers with fewer invoices */
  f: number;
  /** share of customers who spent less */
  m: number;
  /** (f + m) / 2 */
  value: number;
}

/** Mid-rank percentile: share strictly below plus half the ties. */
function percentile(sorted: readonly number[], x: number): number {
  let below = 0;
  let equal = 0;
  for (const v of sorted) {
    if (v < x) below++;
    else if (v === x) equal++;
  }
  return (below + equal / 2) / sorted.length;
}

/** Scores a point against the customer population; recency is reversed (fewer days = better). */
export function segmentScores(point: RfmPoint, population: readonly RfmPoint[]): SegmentScores {
  const recency = population.map((c) => -c.recency_days);
  const r = percentile(recency, -point.recency_days);
  const f = percentile(population.map((c) => c.frequency), point.frequency);
  const m = percentile(population.map((c) => c.monetary), point.monetary);
  return { r, f, m, value: (f + m) / 2 };
}

/** The naming rules, first match wins; written into the card. */
export const SEGMENT_RULES: readonly { name: string; rule: string; description: string; test: (s: SegmentScores, c: RfmPoint) => boolean }[] = [
  {
    name: "Champions",
    rule: "r >= 0.5 and value >= 0.75",
    description: "bought recently, buy often and spend the most",
    test: (s) => s.r >= 0.5 && s.value >= 0.75,
  },
  {
    name: "Loyal customers",
    rule: "r >= 0.5 and value >= 0.5",
    description: "recent, repeat buyers with above-median spend",
    test: (s) => s.r >= 0.5 && s.value >= 0.5,
  },
  {
    name: "New customers",
    rule: "r >= 0.5 and centroid frequency < 1.5",
    description: "bought recently, about one order so far",
    test: (s, c) => s.r >= 0.5 && c.frequency < 1.5,
  },
  {
    name: "Promising",
    rule: "r >= 0.5",
    description: "bought recently, a few small orders",
    test: (s) => s.r >= 0.5,
  },
  {
    name: "At risk",
    rule: "r < 0.5 and value >= 0.5",
    description: "used to buy often or spend a lot, not seen for a while",
    test: (s) => s.value >= 0.5,
  },
  {
    name: "Hibernating",
    rule: "r < 0.5 and value < 0.5",
    description: "last order long ago, few orders, low spend",
    test: () => true,
  },
];

export interface NamedSegment {
  name: string;
  rule: string;
  description: string;
  scores: SegmentScores;
}

/**
 * Names each centroid (in RFM units) by the first matching rule of SEGMENT_RULES, scoring it
 * against the population. When two centroids get the same name, the one with the higher value
 * keeps it and the others get " (2)", " (3)", ... .
 */
export function nameSegments(centroids: readonly RfmPoint[], population: readonly RfmPoint[]): NamedSegment[] {
  const named = centroids.map((c) => {
    const scores = segmentScores(c, population);
    const rule = SEGMENT_RULES.find((r) => r.test(scores, c))!;
    return { name: rule.name, rule: rule.rule, description: rule.description, scores };
  });
  const byName = new Map<string, number[]>();
  named.forEach((s, i) => byName.set(s.name, [...(byName.get(s.name) ?? []), i]));
  for (const indices of byName.values()) {
    if (indices.length < 2) continue;
    indices.sort((a, b) => named[b]!.scores.value - named[a]!.scores.value);
    indices.slice(1).forEach((i, j) => (named[i]!.name = `${named[i]!.name} (${j + 2})`));
  }
  return named;
}
