/**
 * Public surface of the gradient-boosted trees: binning, boosting, cross-fitting, the flat tree
 * form, and the binary-classification recipe the tabular trainers share. ONNX export is in
 * `../tree-onnx-export.ts`; TreeSHAP is in `src/models/tree-shap.ts` (serving uses it too).
 */
export { applyBins, binOf, fitBins, MAX_BINS } from "./binning.ts";
export { cardTree, float32Text, PARITY_TOLERANCE, trainBinaryGbdt } from "./binary-recipe.ts";
export { DEFAULT_PARAMS, fitGbdt, loss, resolveParams, sigmoid } from "./booster.ts";
export { assignFolds, averageEnsembles, fitCrossFitted } from "./cross-fit.ts";
export { expectedValue, leafIndex, predict, predictRaw, treeDepth } from "./tree.ts";
export type { BinMapper, ColumnBins } from "./binning.ts";
export type { BinaryGbdtSpec } from "./binary-recipe.ts";
export type { FitResult, GbdtData, GbdtParams } from "./booster.ts";
export type { CrossFitResult } from "./cross-fit.ts";
export type { Objective, Tree, TreeEnsemble } from "./tree.ts";
