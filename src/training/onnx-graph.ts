/**
 * A small builder for ONNX graphs made of core operators, used by the k-means, recommender and
 * regression exporters. It writes a ModelProto with the `onnx-proto` definitions, like
 * `onnx-export.ts`, but for graphs with several inputs, outputs and integer tensors.
 *
 * Tensors are stored as little-endian raw data, so the same values give the same bytes.
 */
import onnxProto from "onnx-proto";
import { OPSET_VERSION } from "./onnx-export.ts";

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** IR version 8 is what onnx-proto 8 (ONNX 1.10) defines; onnxruntime 1.30 reads IR ≤ 11. */
const IR_VERSION = 8;

export type ElemType = "float" | "int64" | "int32" | "bool";
const ELEM: Record<ElemType, number> = { float: DataType.FLOAT, int64: DataType.INT64, int32: DataType.INT32, bool: DataType.BOOL };

/** A node attribute: numbers are INT when integral unless `float` is asked for, arrays likewise. */
export type Attribute =
  | { int: number }
  | { float: number }
  | { ints: number[] }
  | { tensor: { type: ElemType; dims: number[]; values: ArrayLike<number> } };

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly names = new Set<string>();

  constructor(private readonly graphName: string) {}

  input(name: string, type: ElemType, dims: (number | string)[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: ElemType, dims: (number | string)[]): string {
    this.outputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** A constant tensor; every value must be finite (and integral for integer types). */
  constant(name: string, type: ElemType, dims: number[], values: ArrayLike<number>): string {
    this.claim(name);
    this.initializers.push(tensor(name, type, dims, values));
    return name;
  }

  /** Adds a node; its name is its first output's. Returns the first output. */
  node(opType: string, inputs: string[], outputs: string | string[], attributes: Record<string, Attribute> = {}): string {
    const outs = typeof outputs === "string" ? [outputs] : outputs;
    for (const o of outs) this.claim(o);
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        input: inputs,
        output: outs,
        name: outs[0],
        attribute: Object.entries(attributes).map(([name, a]) => attribute(name, a)),
      }),
    );
    return outs[0]!;
  }

  /** Serialises the graph as a ModelProto (default domain, opset OPSET_VERSION). */
  build(options: { docString?: string; metadata?: Record<string, string>; modelVersion?: number } = {}): Uint8Array {
    const graph = onnx.GraphProto.create({
      name: this.graphName,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
      node: this.nodes,
    });
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: "", version: OPSET_VERSION }],
      producerName: "tidecast",
      producerVersion: "1",
      modelVersion: options.modelVersion ?? 1,
      docString: options.docString ?? "",
      graph,
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new RangeError(`graph ${this.graphName}: the name "${name}" is used twice`);
    this.names.add(name);
  }
}

function valueInfo(name: string, type: ElemType, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: ELEM[type], shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  });
}

function tensor(name: string, type: ElemType, dims: number[], values: ArrayLike<number>) {
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new RangeError(`tensor ${name}: dims [${dims}] hold ${count} values, got ${values.length}`);
  const width = type === "int64" ? 8 : type === "bool" ? 1 : 4;
  const raw = new Uint8Array(count * width);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || (type !== "float" && !Number.isInteger(v))) throw new RangeError(`tensor ${name}: value ${i} is ${v}`);
    if (type === "float") view.setFloat32(i * 4, v, true);
    else if (type === "int64") view.setBigInt64(i * 8, BigInt(v), true);
    else if (type === "int32") view.setInt32(i * 4, v, true);
    else view.setUint8(i, v ? 1 : 0);
  }
  return onnx.TensorProto.create({ name, dims, dataType: ELEM[type], rawData: raw });
}

function attribute(name: string, a: Attribute) {
  if ("int" in a) return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: a.int });
  if ("float" in a) return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: a.float });
  if ("ints" in a) return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: a.ints });
  return onnx.AttributeProto.create({ name, type: AttributeType.TENSOR, t: tensor(name, a.tensor.type, a.tensor.dims, a.tensor.values) });
}
