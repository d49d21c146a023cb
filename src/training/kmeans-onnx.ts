/**
 * ONNX export of a k-means model over log1p-standardised features:
 *
 *   X [N,D] ─ Add(1) ─ Log ─ Sub(means) ─ Div(scales) ─► Z [N,D]
 *   Z ─ Unsqueeze(1) ─ Sub(centroids [K,D]) ─ Mul(self) ─ ReduceSum(axis 2) ─► squared [N,K]
 *   squared ─ Sqrt ─► distances [N,K]          (Euclidean distance to each centroid)
 *   squared ─ ArgMin(axis 1) ─► segment [N]     (int64; ties → lower index)
 */
import { GraphBuilder } from "./onnx-graph.ts";

export interface KMeansGraphSpec {
  graphName: string;
  inputName: string;
  /** int64 [N] output: the nearest centroid */
  segmentOutput: string;
  /** float [N,K] output: the distance to each centroid in the standardised log space */
  distancesOutput: string;
  /** per input column, applied after log1p */
  means: readonly number[];
  scales: readonly number[];
  /** K rows of D values, in the standardised log space */
  centroids: readonly (readonly number[])[];
  docString?: string;
  metadata?: Record<string, string>;
}

export function exportKMeans(spec: KMeansGraphSpec): Uint8Array {
  const d = spec.means.length;
  const k = spec.centroids.length;
  if (d === 0 || spec.scales.length !== d) throw new RangeError("exportKMeans: means and scales must have one value per column");
  if (k === 0 || spec.centroids.some((c) => c.length !== d)) throw new RangeError(`exportKMeans: centroids must be K rows of ${d} values`);
  if (spec.scales.some((s) => !(s > 0))) throw new RangeError("exportKMeans: scales must be positive");

  const g = new GraphBuilder(spec.graphName);
  const x = g.input(spec.inputName, "float", ["N", d]);
  g.output(spec.segmentOutput, "int64", ["N"]);
  g.output(spec.distancesOutput, "float", ["N", k]);
  const one = g.constant("one", "float", [1], [1]);
  const means = g.constant("log_means", "float", [d], spec.means);
  const scales = g.constant("log_scales", "float", [d], spec.scales);
  const centroids = g.constant("centroids", "float", [k, d], spec.centroids.flat());
  const axis1 = g.constant("axis_1", "int64", [1], [1]);
  const axis2 = g.constant("axis_2", "int64", [1], [2]);

  const logged = g.node("Log", [g.node("Add", [x, one], "x_plus_one")], "log1p_x");
  const z = g.node("Div", [g.node("Sub", [logged, means], "centred"), scales], "z");
  const diff = g.node("Sub", [g.node("Unsqueeze", [z, axis1], "z_rows"), centroids], "diff");
  const squared = g.node("ReduceSum", [g.node("Mul", [diff, diff], "diff_sq"), axis2], "squared_distances", { keepdims: { int: 0 } });
  g.node("Sqrt", [squared], spec.distancesOutput);
  g.node("ArgMin", [squared], spec.segmentOutput, { axis: { int: 1 }, keepdims: { int: 0 } });
  return g.build({ docString: spec.docString ?? "", metadata: spec.metadata ?? {} });
}
