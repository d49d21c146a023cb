/**
 * ONNX export of the ItemKNN recommender. The input row is the basket as a multi-hot vector over the
 * V vocabulary items, followed by one column holding `n` (how many recommendations to return):
 *
 *   X [N, V+1] ─ Slice(0..V) ─► basket_items [N,V]              ─ Slice(V) ─► n [N,1]
 *   S [V,V] = ScatterElements(zeros, neighbour index [K,V], similarity [K,V], axis 0)
 *             (column j holds sim(i, j) for the K neighbours i of item j; built at load time, so the
 *              file stores only V·K pairs)
 *   scores = MatMul(basket, S) + prior [V]
 *   masked = Where(basket > 0.5, -1, scores)                 (never recommend the basket)
 *   TopK(masked, M) ─► values [N,M], indices [N,M]
 *   keep   = position < n  and  value ≥ 0
 *   top_scores = Where(keep, values, -1)        float [N,M]
 *   top_items  = Where(keep, indices, -1)       int64 [N,M]  (index into the card's item vocabulary)
 */
import { GraphBuilder } from "./onnx-graph.ts";
import type { ItemKnnModel } from "./recommender.ts";

export interface RecommenderGraphSpec {
  graphName: string;
  inputName: string;
  itemsOutput: string;
  scoresOutput: string;
  /** M: the most recommendations one row can ask for */
  maxN: number;
  docString?: string;
  metadata?: Record<string, string>;
}

export function exportItemKnn(model: ItemKnnModel, spec: RecommenderGraphSpec): Uint8Array {
  const v = model.items;
  const { k, index, sim } = model.neighbours;
  const m = spec.maxN;
  if (!(Number.isInteger(m) && m >= 1 && m <= v)) throw new RangeError(`maxN must be in [1, ${v}], got ${m}`);
  // transposed to [K, V]: slot s of every item j, so ScatterElements(axis 0) writes S[index, j]
  const indexT = new Int32Array(k * v);
  const simT = new Float32Array(k * v);
  for (let j = 0; j < v; j++) {
    for (let s = 0; s < k; s++) {
      indexT[s * v + j] = index[j * k + s]!;
      simT[s * v + j] = sim[j * k + s]!;
    }
  }

  const g = new GraphBuilder(spec.graphName);
  const x = g.input(spec.inputName, "float", ["N", v + 1]);
  g.output(spec.itemsOutput, "int64", ["N", m]);
  g.output(spec.scoresOutput, "float", ["N", m]);
  const axes = g.constant("axes_1", "int64", [1], [1]);
  const basket = g.node("Slice", [x, g.constant("basket_start", "int64", [1], [0]), g.constant("basket_end", "int64", [1], [v]), axes], "basket_items");
  const n = g.node("Slice", [x, g.constant("n_start", "int64", [1], [v]), g.constant("n_end", "int64", [1], [v + 1]), axes], "n");

  const zeros = g.node("ConstantOfShape", [g.constant("sim_shape", "int64", [2], [v, v])], "sim_zeros", {
    value: { tensor: { type: "float", dims: [1], values: [0] } },
  });
  const similarity = g.node(
    "ScatterElements",
    [zeros, g.constant("neighbour_index", "int32", [k, v], indexT), g.constant("neighbour_sim", "float", [k, v], simT)],
    "similarity",
    { axis: { int: 0 } },
  );
  const scores = g.node("Add", [g.node("MatMul", [basket, similarity], "neighbour_scores"), g.constant("prior", "float", [v], model.prior)], "scores");
  const minusOne = g.constant("minus_one", "float", [1], [-1]);
  const inBasket = g.node("Greater", [basket, g.constant("half", "float", [1], [0.5])], "in_basket");
  const masked = g.node("Where", [inBasket, minusOne, scores], "masked_scores");
  const [values, indices] = ["top_values", "top_indices"];
  g.node("TopK", [masked, g.constant("top_m", "int64", [1], [m])], [values, indices], { axis: { int: 1 }, largest: { int: 1 }, sorted: { int: 1 } });
  const positions = g.constant("positions", "float", [m], Array.from({ length: m }, (_, i) => i));
  const wanted = g.node("Less", [positions, n], "within_n");
  const eligible = g.node("GreaterOrEqual", [values, g.constant("zero", "float", [1], [0])], "eligible");
  const keep = g.node("And", [wanted, eligible], "keep");
  g.node("Where", [keep, values, minusOne], spec.scoresOutput);
  g.node("Where", [keep, indices, g.constant("no_item", "int64", [1], [-1])], spec.itemsOutput);
  return g.build({ docString: spec.docString ?? "", metadata: spec.metadata ?? {} });
}
