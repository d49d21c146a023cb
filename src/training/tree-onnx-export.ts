/**
 * ONNX export of tree ensembles with the ai.onnx.ml operators (opset 3), built as a ModelProto with
 * the `onnx-proto` definitions like the linear export in `onnx-export.ts`:
 *
 *   binary classifier:  X [N,D] ─ TreeEnsembleClassifier(post_transform LOGISTIC) ─► label [N] (int64),
 *                                                                                  probabilities [N,2]
 *   regressor:          X [N,D] ─ TreeEnsembleRegressor(SUM) ─► prediction [N,1]
 *   blend:              a logistic regression and a binary ensemble's raw score, weighted in log-odds
 *
 * Every internal node is BRANCH_LEQ (`x <= threshold` goes to the true branch, our left child), with
 * the float32 thresholds the trainer split on, so onnxruntime's float32 comparisons route every row
 * as the trainer did. `nodes_missing_value_tracks_true` carries the learned direction of NaNs.
 * Leaf values are float32 already (the trainer rounds them), and the base score is `base_values`.
 *
 * The classifier puts one weight per leaf on class 0 of `classlabels_int64s = [0, 1]`; onnxruntime
 * then treats the sum as the positive-class margin and writes [σ(−s), σ(s)] — but only when some
 * leaf weight is negative: with all weights ≥ 0 it assumes they are probabilities and skips the
 * logistic. `exportTreeClassifier` therefore always has a negative weight (see `biasTree`).
 */
import onnxProto from "onnx-proto";
import type { TreeEnsemble } from "./gbdt/tree.ts";
import { OPSET_VERSION } from "./onnx-export.ts";

const { onnx } = onnxProto;

/** Same IR version as the linear export (what onnx-proto 8 defines). */
const IR_VERSION = 8;
/** ai.onnx.ml opset of TreeEnsembleClassifier/Regressor 3, which onnxruntime 1.30 runs. */
export const ML_OPSET_VERSION = 3;

export interface TreeGraphSpec {
  model: TreeEnsemble;
  /** name of the float [N, D] input (the card's `encoding.input_name`) */
  inputName: string;
  /** the classifier's [N,2] probabilities or the regressor's [N,1] values (`outputs.score_output`) */
  outputName: string;
  /** the classifier's int64 label output */
  labelName?: string;
  graphName: string;
  docString?: string;
  metadata?: Record<string, string>;
  modelVersion?: number;
}

type Attribute = InstanceType<typeof onnx.AttributeProto>;
const A = onnx.AttributeProto.AttributeType;
const text = new TextEncoder();

const ints = (name: string, values: number[]): Attribute => onnx.AttributeProto.create({ name, type: A.INTS, ints: values });
const floats = (name: string, values: number[]): Attribute => onnx.AttributeProto.create({ name, type: A.FLOATS, floats: values });
const strings = (name: string, values: string[]): Attribute =>
  onnx.AttributeProto.create({ name, type: A.STRINGS, strings: values.map((v) => text.encode(v)) });
const string = (name: string, value: string): Attribute => onnx.AttributeProto.create({ name, type: A.STRING, s: text.encode(value) });
const int = (name: string, value: number): Attribute => onnx.AttributeProto.create({ name, type: A.INT, i: value });

function valueInfo(name: string, elemType: number, dims: (number | string)[]): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  });
}

interface NodeTable {
  attributes: Attribute[];
  /** (tree, node, weight) of every leaf */
  leaves: { tree: number[]; node: number[]; weight: number[] };
}

/** The `nodes_*` attributes of every tree, checking that the values survive float32 unchanged. */
function nodeTable(model: TreeEnsemble): NodeTable {
  const t: number[] = [];
  const id: number[] = [];
  const featureIds: number[] = [];
  const values: number[] = [];
  const modes: string[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missing: number[] = [];
  const leaves = { tree: [] as number[], node: [] as number[], weight: [] as number[] };
  model.trees.forEach((tree, ti) => {
    for (let i = 0; i < tree.feature.length; i++) {
      t.push(ti);
      id.push(i);
      const f = tree.feature[i]!;
      if (f < 0) {
        const w = tree.value[i]!;
        if (Math.fround(w) !== w || !Number.isFinite(w)) throw new RangeError(`tree ${ti} leaf ${i}: value ${w} is not a finite float32`);
        featureIds.push(0);
        values.push(0);
        modes.push("LEAF");
        trueIds.push(0);
        falseIds.push(0);
        missing.push(0);
        leaves.tree.push(ti);
        leaves.node.push(i);
        leaves.weight.push(w);
      } else {
        const threshold = tree.threshold[i]!;
        if (f >= model.columns) throw new RangeError(`tree ${ti} node ${i}: column ${f} ≥ ${model.columns}`);
        if (Math.fround(threshold) !== threshold) throw new RangeError(`tree ${ti} node ${i}: threshold ${threshold} is not a float32`);
        featureIds.push(f);
        values.push(threshold);
        modes.push("BRANCH_LEQ");
        trueIds.push(tree.left[i]!);
        falseIds.push(tree.right[i]!);
        missing.push(tree.missingLeft[i]!);
      }
    }
  });
  return {
    attributes: [
      ints("nodes_treeids", t),
      ints("nodes_nodeids", id),
      ints("nodes_featureids", featureIds),
      floats("nodes_values", values),
      strings("nodes_modes", modes),
      ints("nodes_truenodeids", trueIds),
      ints("nodes_falsenodeids", falseIds),
      ints("nodes_missing_value_tracks_true", missing),
    ],
    leaves,
  };
}

function modelProto(spec: TreeGraphSpec, graph: InstanceType<typeof onnx.GraphProto>): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [
      { domain: "", version: OPSET_VERSION },
      { domain: "ai.onnx.ml", version: ML_OPSET_VERSION },
    ],
    producerName: "tidecast",
    producerVersion: "1",
    modelVersion: spec.modelVersion ?? 1,
    docString: spec.docString ?? "",
    graph,
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * When no leaf weight is negative, onnxruntime's binary classifier would read the summed weights as
 * a probability. An extra one-leaf tree of weight −1, with the base value raised by 1, keeps the
 * margin (up to float32 rounding of the base value) and the logistic.
 */
function biasTree(leaves: NodeTable["leaves"], baseScore: number): { base: number; extra: boolean } {
  if (leaves.weight.some((w) => w < 0)) return { base: baseScore, extra: false };
  return { base: baseScore + 1, extra: true };
}

/** Serialises a binary log-loss ensemble as a TreeEnsembleClassifier (bytes of a ModelProto). */
export function exportTreeClassifier(spec: TreeGraphSpec): Uint8Array {
  const { model } = spec;
  if (model.objective !== "binary_logloss") throw new RangeError(`exportTreeClassifier: objective is ${model.objective}`);
  const table = nodeTable(model);
  const { base, extra } = biasTree(table.leaves, model.baseScore);
  const nodeAttributes = table.attributes;
  const leaves = table.leaves;
  if (extra) {
    const t = model.trees.length;
    const append = (name: string, v: number | string) => {
      const a = nodeAttributes.find((x) => x.name === name)!;
      if (typeof v === "string") a.strings.push(text.encode(v));
      else if (name === "nodes_values") a.floats.push(v);
      else a.ints.push(v);
    };
    for (const [name, v] of [
      ["nodes_treeids", t],
      ["nodes_nodeids", 0],
      ["nodes_featureids", 0],
      ["nodes_values", 0],
      ["nodes_modes", "LEAF"],
      ["nodes_truenodeids", 0],
      ["nodes_falsenodeids", 0],
      ["nodes_missing_value_tracks_true", 0],
    ] as const) {
      append(name, v);
    }
    leaves.tree.push(t);
    leaves.node.push(0);
    leaves.weight.push(-1);
  }
  const labelName = spec.labelName ?? "label";
  const node = onnx.NodeProto.create({
    opType: "TreeEnsembleClassifier",
    domain: "ai.onnx.ml",
    name: "trees",
    input: [spec.inputName],
    output: [labelName, spec.outputName],
    attribute: [
      ...nodeAttributes,
      ints("class_treeids", leaves.tree),
      ints("class_nodeids", leaves.node),
      ints("class_ids", leaves.tree.map(() => 0)),
      floats("class_weights", leaves.weight),
      ints("classlabels_int64s", [0, 1]),
      floats("base_values", [base]),
      string("post_transform", "LOGISTIC"),
    ],
  });
  const graph = onnx.GraphProto.create({
    name: spec.graphName,
    input: [valueInfo(spec.inputName, onnx.TensorProto.DataType.FLOAT, ["N", model.columns])],
    output: [valueInfo(labelName, onnx.TensorProto.DataType.INT64, ["N"]), valueInfo(spec.outputName, onnx.TensorProto.DataType.FLOAT, ["N", 2])],
    node: [node],
  });
  return modelProto(spec, graph);
}

/** A TreeEnsembleRegressor node writing the ensemble's raw score (base score included) as [N,1]. */
function rawScoreNode(model: TreeEnsemble, inputName: string, outputName: string): InstanceType<typeof onnx.NodeProto> {
  const { attributes, leaves } = nodeTable(model);
  return onnx.NodeProto.create({
    opType: "TreeEnsembleRegressor",
    domain: "ai.onnx.ml",
    name: "trees",
    input: [inputName],
    output: [outputName],
    attribute: [
      ...attributes,
      int("n_targets", 1),
      ints("target_treeids", leaves.tree),
      ints("target_nodeids", leaves.node),
      ints("target_ids", leaves.tree.map(() => 0)),
      floats("target_weights", leaves.weight),
      floats("base_values", [Math.fround(model.baseScore)]),
      string("aggregate_function", "SUM"),
      string("post_transform", "NONE"),
    ],
  });
}

/** Serialises a squared-error ensemble as a TreeEnsembleRegressor with one target. */
export function exportTreeRegressor(spec: TreeGraphSpec): Uint8Array {
  const { model } = spec;
  if (model.objective !== "squared_error") throw new RangeError(`exportTreeRegressor: objective is ${model.objective}`);
  const graph = onnx.GraphProto.create({
    name: spec.graphName,
    input: [valueInfo(spec.inputName, onnx.TensorProto.DataType.FLOAT, ["N", model.columns])],
    output: [valueInfo(spec.outputName, onnx.TensorProto.DataType.FLOAT, ["N", 1])],
    node: [rawScoreNode(model, spec.inputName, spec.outputName)],
  });
  return modelProto(spec, graph);
}

export interface BlendGraphSpec extends TreeGraphSpec {
  /** the logistic regression's raw-scale weights (one per encoded column) and intercept */
  linear: { weights: ArrayLike<number>; intercept: number };
  /** log-odds = linearWeight × linear logit + treeWeight × the trees' raw score */
  linearWeight: number;
  treeWeight: number;
}

/**
 * Serialises a binary classifier whose log-odds blend a logistic regression and a log-loss tree
 * ensemble on the same encoded vector:
 *
 *   X ─ MatMul(W) ─ Add(b) ─ Mul(w_linear) ─┐
 *   X ─ TreeEnsembleRegressor ─ Mul(w_tree) ─ Add ─► logit ─ Sigmoid ─► p;  Concat(1 − p, p) ─► [N,2]
 */
export function exportBlendClassifier(spec: BlendGraphSpec): Uint8Array {
  const { model, linear } = spec;
  if (model.objective !== "binary_logloss") throw new RangeError(`exportBlendClassifier: objective is ${model.objective}`);
  const d = model.columns;
  if (linear.weights.length !== d) throw new RangeError(`exportBlendClassifier: ${linear.weights.length} weights for ${d} columns`);
  const constants = { coefficients: [[d, 1], Array.from(linear.weights)], intercept: [[1], [linear.intercept]], linear_weight: [[1], [spec.linearWeight]], tree_weight: [[1], [spec.treeWeight]], one: [[1], [1]] } as const;
  const initializer = Object.entries(constants).map(([name, [dims, values]]) => {
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new RangeError(`exportBlendClassifier: ${name}[${i}] is ${v}`);
    });
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return onnx.TensorProto.create({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
  });
  const node = (opType: string, input: string[], output: string, attribute: Attribute[] = []) => onnx.NodeProto.create({ opType, input, output: [output], name: output, attribute });
  const graph = onnx.GraphProto.create({
    name: spec.graphName,
    input: [valueInfo(spec.inputName, onnx.TensorProto.DataType.FLOAT, ["N", d])],
    output: [valueInfo(spec.outputName, onnx.TensorProto.DataType.FLOAT, ["N", 2])],
    initializer,
    node: [
      node("MatMul", [spec.inputName, "coefficients"], "linear_product"),
      node("Add", ["linear_product", "intercept"], "linear_logit"),
      node("Mul", ["linear_logit", "linear_weight"], "weighted_linear"),
      rawScoreNode(model, spec.inputName, "tree_margin"),
      node("Mul", ["tree_margin", "tree_weight"], "weighted_trees"),
      node("Add", ["weighted_linear", "weighted_trees"], "logit"),
      node("Sigmoid", ["logit"], "p_positive"),
      node("Sub", ["one", "p_positive"], "p_negative"),
      node("Concat", ["p_negative", "p_positive"], spec.outputName, [int("axis", 1)]),
    ],
  });
  return modelProto(spec, graph);
}
