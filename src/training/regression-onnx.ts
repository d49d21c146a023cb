/**
 * ONNX export of an OLS fit on derived terms, with its prediction interval:
 *
 *   X [N,F] ─ Slice per feature ─ terms (Mul, Log(1+x), Sqrt, ...) ─ Concat ─► T [N,p]
 *   Z = (T − means) / scales
 *   value = MatMul(Z, w) + b                                   [N,1]
 *   half  = c·s · sqrt(1 + 1/n + ReduceSum(MatMul(Z, (ZᵀZ)⁻¹) ⊙ Z, axis 1))
 *   lower = value − half,  upper = value + half                [N,1]
 */
import { GraphBuilder } from "./onnx-graph.ts";
import { termFeatures, termName, type OlsFit, type Term } from "./regression.ts";

export interface RegressionGraphSpec {
  graphName: string;
  inputName: string;
  /** the input's columns, in order */
  features: readonly string[];
  valueOutput: string;
  lowerOutput: string;
  upperOutput: string;
  /** the interval's multiplier c (a Student t quantile, or a calibrated one): half-width c · s · sqrt(1 + h) */
  tQuantile: number;
  docString?: string;
  metadata?: Record<string, string>;
}

export function exportOlsWithInterval(fit: OlsFit, spec: RegressionGraphSpec): Uint8Array {
  const p = fit.terms.length;
  const f = spec.features.length;
  for (const t of fit.terms) {
    for (const name of termFeatures(t)) if (!spec.features.includes(name)) throw new RangeError(`term ${termName(t)} reads unknown feature ${name}`);
  }
  const g = new GraphBuilder(spec.graphName);
  const x = g.input(spec.inputName, "float", ["N", f]);
  for (const out of [spec.valueOutput, spec.lowerOutput, spec.upperOutput]) g.output(out, "float", ["N", 1]);
  const axes = g.constant("axes_1", "int64", [1], [1]);
  // constants only some terms need are added on first use (an unused initializer draws a warning)
  const shared = new Map<string, string>();
  const scalar = (name: string, value: number): string => {
    let c = shared.get(name);
    if (!c) shared.set(name, (c = g.constant(name, "float", [1], [value])));
    return c;
  };

  const columns = new Map<string, string>();
  const column = (name: string): string => {
    let c = columns.get(name);
    if (!c) {
      const j = spec.features.indexOf(name);
      c = g.node("Slice", [x, g.constant(`${name}_start`, "int64", [1], [j]), g.constant(`${name}_end`, "int64", [1], [j + 1]), axes], `col_${name}`);
      columns.set(name, c);
    }
    return c;
  };
  const termOutput = (t: Term, k: number): string => {
    const name = `term_${k}`;
    switch (t.kind) {
      case "input":
        return g.node("Identity", [column(t.feature)], name);
      case "product":
        return g.node("Mul", [column(t.a), column(t.b)], name);
      case "log1p":
        return g.node("Log", [g.node("Add", [column(t.feature), scalar("one", 1)], `${name}_plus_one`)], name);
      case "sqrt":
        return g.node("Sqrt", [g.node("Max", [column(t.feature), scalar("zero", 0)], `${name}_non_negative`)], name);
      case "square":
        return g.node("Mul", [column(t.feature), column(t.feature)], name);
    }
  };
  const terms = g.node("Concat", fit.terms.map(termOutput), "terms", { axis: { int: 1 } });
  const z = g.node("Div", [g.node("Sub", [terms, g.constant("term_means", "float", [p], fit.means)], "centred"), g.constant("term_scales", "float", [p], fit.scales)], "z");
  const value = g.node(
    "Add",
    [g.node("MatMul", [z, g.constant("weights", "float", [p, 1], fit.weights)], "linear"), g.constant("intercept", "float", [1], [fit.intercept])],
    spec.valueOutput,
  );
  const zm = g.node("MatMul", [z, g.constant("inverse_gram", "float", [p, p], fit.inverseGram)], "z_inverse_gram");
  const quadratic = g.node("ReduceSum", [g.node("Mul", [zm, z], "z_inverse_gram_z"), axes], "quadratic", { keepdims: { int: 1 } });
  const spread = g.node("Sqrt", [g.node("Add", [quadratic, g.constant("one_plus_one_over_n", "float", [1], [1 + 1 / fit.n])], "variance_factor")], "spread");
  const half = g.node("Mul", [spread, g.constant("t_times_s", "float", [1], [spec.tQuantile * fit.residualSd])], "half_width");
  g.node("Sub", [value, half], spec.lowerOutput);
  g.node("Add", [value, half], spec.upperOutput);
  return g.build({ docString: spec.docString ?? "", metadata: spec.metadata ?? {} });
}
