/**
 * ONNX export of trained models, built directly as a ModelProto with the `onnx-proto` definitions.
 *
 * A binary logistic regression becomes plain core operators, which every onnxruntime build runs:
 *
 *   X [N,D] ─ MatMul(W [D,1]) ─ Add(b) ─► logit [N,1] ─ Sigmoid ─► p [N,1]
 *   Concat(1 − p, p; axis 1) ─► probabilities [N,2]      (column 1 = positive class)
 *
 * The graph is deterministic: the same weights give the same bytes.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** IR version 8 is what onnx-proto 8 (ONNX 1.10) defines; onnxruntime 1.30 reads IR ≤ 11. */
const IR_VERSION = 8;
/** Default-domain opset; every operator used here is unchanged since opset 13. */
export const OPSET_VERSION = 17;

export interface LogisticGraphSpec {
  /** name of the float [N, D] input (the card's `encoding.input_name`) */
  inputName: string;
  /** name of the float [N, 2] output (the card's `outputs.score_output`) */
  outputName: string;
  /** raw-scale weights, one per encoded column */
  weights: ArrayLike<number>;
  intercept: number;
  /** graph name, e.g. the model name */
  graphName: string;
  docString?: string;
  /** stored as ONNX metadata_props (e.g. model name and version) */
  metadata?: Record<string, string>;
  /** integer model_version field */
  modelVersion?: number;
}

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): InstanceType<typeof onnx.TensorProto> {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true); // ONNX raw data is little-endian
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
}

function floatValueInfo(name: string, dims: (number | string)[]): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

/** Serialises a binary logistic regression as an ONNX model (bytes of a ModelProto). */
export function exportLogisticRegression(spec: LogisticGraphSpec): Uint8Array {
  const d = spec.weights.length;
  if (d === 0) throw new RangeError("exportLogisticRegression: no weights");
  for (let j = 0; j < d; j++) {
    if (!Number.isFinite(spec.weights[j]!)) throw new RangeError(`weight ${j} is ${spec.weights[j]}`);
  }
  if (!Number.isFinite(spec.intercept)) throw new RangeError(`intercept is ${spec.intercept}`);
  const node = (opType: string, inputs: string[], outputs: string[], attribute: object[] = []) =>
    onnx.NodeProto.create({ opType, input: inputs, output: outputs, name: outputs[0], attribute });

  const graph = onnx.GraphProto.create({
    name: spec.graphName,
    input: [floatValueInfo(spec.inputName, ["N", d])],
    output: [floatValueInfo(spec.outputName, ["N", 2])],
    initializer: [floatTensor("coefficients", [d, 1], spec.weights), floatTensor("intercept", [1], [spec.intercept]), floatTensor("one", [1], [1])],
    node: [
      node("MatMul", [spec.inputName, "coefficients"], ["linear"]),
      node("Add", ["linear", "intercept"], ["logit"]),
      node("Sigmoid", ["logit"], ["p_positive"]),
      node("Sub", ["one", "p_positive"], ["p_negative"]),
      node("Concat", ["p_negative", "p_positive"], [spec.outputName], [
        { name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 },
      ]),
    ],
  });

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET_VERSION }],
    producerName: "tidecast",
    producerVersion: "1",
    modelVersion: spec.modelVersion ?? 1,
    docString: spec.docString ?? "",
    graph,
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
