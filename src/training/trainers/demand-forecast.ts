/**
 * `demand_forecast` 1.0.0: units of one product sold on one trading day, from the product's own
 * recent sales (lags, rolling means) and the calendar. Gradient-boosted trees (squared error on the
 * raw quantity) on the online-retail transactions; the caller computes the features from its own
 * history (definitions in `datasets/retail-demand.ts` and on the card).
 *
 * Time split: the last VALIDATION_DAYS calendar days only measure; the STOP_DAYS before them stop the
 * boosting; earlier days fit the trees. Baselines on the validation weeks: seasonal naive (`lag_7`,
 * same weekday last week) and `lag_1` (previous trading day).
 */
import { relative } from "node:path";
import { ROOT_DIR } from "../../config.ts";
import { ModelCardSchema, type ModelCard } from "../../models/card.ts";
import { createEncoder, type Encoder } from "../../models/encode.ts";
import { loadOnnxSession, runBatch } from "../../models/onnx-runtime.ts";
import { createTreeShap } from "../../models/tree-shap.ts";
import { buildEncoding, describeFeatures, type DeclaredFeature } from "../features.ts";
import { cardTree } from "../gbdt/binary-recipe.ts";
import { fitGbdt, type GbdtData, type GbdtParams } from "../gbdt/booster.ts";
import { predict, treeDepth } from "../gbdt/tree.ts";
import { regressionMetrics, type RegressionMetrics } from "../regression.ts";
import { TrainingError, type ParityFile, type TrainedModel, type TrainerEntry } from "../trainer.ts";
import { exportTreeRegressor } from "../tree-onnx-export.ts";
import { loadRetail, RETAIL_DIR, RETAIL_FILE, type RetailLine } from "../datasets/retail.ts";
import {
  buildDemandSeries,
  DAY_MS,
  DEMAND_FEATURES,
  demandRows,
  isoDay,
  MIN_HISTORY,
  timeSplit,
  type DemandRow,
} from "../datasets/retail-demand.ts";

const NAME = "demand_forecast";
const VERSION = "1.0.0";
const INPUT = "features";
const OUTPUT = "quantity";
/**
 * Parity: |onnxruntime − trainer| ≤ tolerance × max(1, |trainer|) per row — 1e-5 absolute up to one
 * unit, relative above. The graph's output is float32 (TreeEnsembleRegressor sums float32 leaves),
 * whose spacing alone is 6e-5 at 500 units, so an absolute 1e-5 cannot hold on busy product-days.
 */
export const DEMAND_PARITY_TOLERANCE = 1e-5;

/** The parity criterion above: true when `runtime` reproduces `trainer`. */
export function withinDemandParity(runtime: number, trainer: number, tolerance = DEMAND_PARITY_TOLERANCE): boolean {
  return Math.abs(runtime - trainer) <= tolerance * Math.max(1, Math.abs(trainer));
}

export interface DemandOptions {
  products: number;
  validationDays: number;
  stopDays: number;
  params: Partial<GbdtParams>;
  parityRows: number;
}

export const DEMAND_DEFAULTS: DemandOptions = {
  products: 300,
  validationDays: 28,
  stopDays: 21,
  params: {
    objective: "squared_error",
    learningRate: 0.05,
    maxTrees: 1500,
    maxDepth: 6,
    maxLeaves: 31,
    minSamplesLeaf: 100,
    l2: 1,
    subsample: 0.8,
    colsample: 1,
    earlyStoppingRounds: 50,
    seed: 20240801,
  },
  parityRows: 60,
};

export interface DemandSource {
  dataset: string;
  source: string;
  files: string[];
  synthetic: boolean;
  notes: string;
}

const DECLARED: DeclaredFeature[] = [
  {
    name: "lag_1",
    type: "number",
    required: true,
    description: "Units of the product sold on the previous trading day (the latest day before the forecast day on which the shop traded; 0 if none of it sold).",
  },
  {
    name: "lag_7",
    type: "number",
    required: true,
    description:
      "Units sold on the same weekday one week earlier (forecast date − 7 days); if the shop did not trade that day (holiday), the latest trading day before it.",
  },
  {
    name: "lag_14",
    type: "number",
    required: true,
    description:
      "Units sold on the same weekday two weeks earlier (forecast date − 14 days); if the shop did not trade that day, the latest trading day before it.",
  },
  {
    name: "rolling_mean_7",
    type: "number",
    required: true,
    description: "Mean units per trading day over the last 7 trading days before the forecast day (days without a sale count as 0; closed days are skipped).",
  },
  {
    name: "rolling_mean_28",
    type: "number",
    required: true,
    description: "Mean units per trading day over the last 28 trading days before the forecast day (days without a sale count as 0; closed days are skipped).",
  },
  { name: "day_of_week", type: "integer", required: true, description: "Weekday of the forecast day: 0 = Monday … 6 = Sunday (the shop never traded on Saturday, 5)." },
  { name: "day_of_month", type: "integer", required: true, description: "Day of the month of the forecast day, 1–31." },
];

const round = (x: number, d = 6) => Number(x.toFixed(d));
const roundMetrics = (m: RegressionMetrics) => ({ rmse: round(m.rmse), mae: round(m.mae), r2: round(m.r2), rows: m.rows });

/** Encodes rows with the serving encoder; returns the packed float32 matrix and how many rows warned (clipped). */
function encodeRows(encoder: Encoder, rows: readonly DemandRow[], strict: boolean, what: string): { x: Float32Array; warned: number } {
  const x = new Float32Array(rows.length * encoder.width);
  let warned = 0;
  rows.forEach((row, i) => {
    const outcome = encoder.encodeInto(row.features, x, i * encoder.width);
    if (!outcome.ok) throw new TrainingError(`${what} row ${row.product} ${isoDay(row.day)} does not encode: ${JSON.stringify(outcome.errors)}`);
    if (outcome.warnings.length > 0) {
      if (strict) throw new TrainingError(`${what} row ${row.product} ${isoDay(row.day)}: ${outcome.warnings.join("; ")}`);
      warned++;
    }
  });
  return { x, warned };
}

const data = (x: Float32Array, rows: readonly DemandRow[], cols: number): GbdtData => ({ x, rows: rows.length, cols, y: Float64Array.from(rows, (r) => r.quantity) });

export async function buildDemandForecast(
  lines: readonly RetailLine[],
  source: DemandSource,
  options: DemandOptions = DEMAND_DEFAULTS,
  log: (line: string) => void = () => {},
  now: Date = new Date(),
): Promise<TrainedModel> {
  const started = performance.now();
  if (lines.length === 0) throw new TrainingError(`${NAME}: no transaction lines`);
  let lastDay = -Infinity;
  for (const l of lines) lastDay = Math.max(lastDay, Math.floor(l.time / DAY_MS) * DAY_MS);
  const validationStart = lastDay + DAY_MS - options.validationDays * DAY_MS;
  const series = buildDemandSeries(lines, { products: options.products, selectBefore: validationStart });
  const rows = demandRows(series);
  const split = timeSplit(rows, lastDay, options.validationDays, options.stopDays);
  const { fit, stop, validation } = split;
  if (fit.length === 0 || stop.length === 0 || validation.length === 0) {
    throw new TrainingError(`${NAME}: time split left ${fit.length} fit / ${stop.length} stop / ${validation.length} validation rows`);
  }
  const tradingDays = (rs: readonly DemandRow[]) => new Set(rs.map((r) => r.day)).size;
  log(
    `${NAME}: ${series.products.length} products × ${series.days.length} trading days → ${rows.length} rows; fit ${fit.length} ` +
      `(${isoDay(fit[0]!.day)}..${isoDay(fit.at(-1)!.day)}), stop ${stop.length} (${isoDay(split.stopStart)}..), validation ${validation.length} (${isoDay(validationStart)}..${isoDay(lastDay)})`,
  );

  const features = describeFeatures(DECLARED, [...fit, ...stop].map((r) => r.features));
  const encoding = buildEncoding(features, INPUT);
  const encoder = createEncoder({ features, encoding });
  const width = encoder.width;
  const fitX = encodeRows(encoder, fit, true, "fit");
  const stopX = encodeRows(encoder, stop, true, "stop");
  const validationX = encodeRows(encoder, validation, false, "validation");
  const fitData = data(fitX.x, fit, width);
  const stopData = data(stopX.x, stop, width);
  const validationData = data(validationX.x, validation, width);

  const t0 = performance.now();
  const result = fitGbdt(fitData, { ...options.params, objective: "squared_error" }, stopData);
  const model = result.model;
  log(
    `${NAME}: ${result.roundsRun} rounds, kept ${result.bestRounds} trees (early-stopping RMSE ${result.bestValidationLoss.toFixed(3)}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const y = Array.from(validation, (r) => r.quantity);
  const predicted = Array.from(predict(model, validationData.x, validationData.rows));
  const metrics = regressionMetrics(y, predicted);
  const seasonal = regressionMetrics(y, validation.map((r) => r.features.lag_7));
  const lag1 = regressionMetrics(y, validation.map((r) => r.features.lag_1));
  const rolling7 = regressionMetrics(y, validation.map((r) => r.features.rolling_mean_7));
  const rolling28 = regressionMetrics(y, validation.map((r) => r.features.rolling_mean_28));
  log(
    `${NAME}: validation RMSE ${metrics.rmse.toFixed(3)} MAE ${metrics.mae.toFixed(3)}; seasonal naive (lag_7) RMSE ${seasonal.rmse.toFixed(3)} MAE ${seasonal.mae.toFixed(3)}; ` +
      `lag_1 RMSE ${lag1.rmse.toFixed(3)} MAE ${lag1.mae.toFixed(3)}; rolling_mean_7 RMSE ${rolling7.rmse.toFixed(3)} MAE ${rolling7.mae.toFixed(3)}`,
  );

  // TreeSHAP: one encoded column per feature, so a column's φ is its feature's contribution
  const shap = createTreeShap(model.trees, width);
  const baseValue = model.baseScore + shap.expectedValue;
  const sums = new Float64Array(width);
  const phi = new Float64Array(width);
  for (let r = 0; r < validationData.rows; r++) {
    phi.fill(0);
    shap.explainRow(validationData.x, r * width, phi);
    for (let c = 0; c < width; c++) sums[c]! += Math.abs(phi[c]!);
  }
  const importance = Object.fromEntries(
    DEMAND_FEATURES.map((name, c) => [name, round(sums[c]! / validationData.rows)] as const).sort((a, b) => b[1] - a[1]),
  );

  const onnx = exportTreeRegressor({
    model,
    inputName: INPUT,
    outputName: OUTPUT,
    graphName: NAME,
    docString: `Daily product demand ${VERSION}: gradient-boosted trees (${model.trees.length}), squared error on units sold; "${OUTPUT}" is the forecast in units`,
    metadata: { model: NAME, version: VERSION },
  });
  const cardOutputs = { encoding, outputs: { score_output: OUTPUT } };
  const session = await loadOnnxSession(onnx, cardOutputs);
  let worst = 0;
  let worstRelative = 0;
  let failing = 0;
  try {
    const scores = await runBatch(session, cardOutputs, validationData.x, validationData.rows);
    for (let i = 0; i < validationData.rows; i++) {
      const delta = Math.abs(scores[i]! - predicted[i]!);
      worst = Math.max(worst, delta);
      worstRelative = Math.max(worstRelative, delta / Math.max(1, Math.abs(predicted[i]!)));
      if (!withinDemandParity(scores[i]!, predicted[i]!)) failing++;
    }
  } finally {
    await session.release();
  }
  log(
    `${NAME}: onnxruntime on ${validationData.rows} validation rows: max |Δ| ${worst.toExponential(2)} units, ` +
      `max |Δ| / max(1, |ŷ|) ${worstRelative.toExponential(2)}`,
  );

  const p = result.params;
  const fitDays = tradingDays(fit);
  const card: ModelCard = ModelCardSchema.parse({
    name: NAME,
    version: VERSION,
    display_name: "Daily product demand forecast",
    description:
      "Forecasts how many units of one product the online gift-ware shop sells on one trading day (the score, in units; not " +
      "log-transformed), from that product's recent daily sales and the calendar. The caller computes the features from its " +
      "own daily history of the product: lag_1 (previous trading day), lag_7 and lag_14 (same weekday 1 and 2 weeks before), " +
      "the mean of the last 7 and 28 trading days, weekday and day of month; days without a sale count as 0, days the shop " +
      "was closed are skipped. Gradient-boosted trees (squared error) trained on the UCI Online Retail transactions of the " +
      `${series.products.length} products selling on the most days; a one-day-ahead forecast. Values outside the training ` +
      "range are clipped to it (with a warning). Explanations are TreeSHAP contributions in units.",
    task: "regression",
    algorithm: "gradient_boosted_trees_regressor",
    created_at: now.toISOString(),
    features,
    encoding,
    outputs: { score_output: OUTPUT },
    training: {
      dataset: source.dataset,
      source: source.source,
      files: source.files,
      rows: rows.length,
      synthetic: source.synthetic,
      split: {
        method:
          `by date: fit on trading days ${isoDay(fit[0]!.day)}..${isoDay(fit.at(-1)!.day)} (${fitDays} days), early stopping on ` +
          `${isoDay(split.stopStart)}..${isoDay(validationStart - DAY_MS)} (last ${options.stopDays} calendar days of the training period, ` +
          `${tradingDays(stop)} trading days), validation on ${isoDay(validationStart)}..${isoDay(lastDay)} (last ${options.validationDays} ` +
          `calendar days, ${tradingDays(validation)} trading days); no shuffling`,
        train_rows: fit.length + stop.length,
        validation_rows: validation.length,
        seed: p.seed,
      },
      hyperparameters: {
        objective: "squared error on the raw daily quantity (units); the output is the quantity itself",
        n_trees: model.trees.length,
        rounds_run: result.roundsRun,
        max_trees: p.maxTrees,
        learning_rate: p.learningRate,
        max_depth: p.maxDepth,
        max_leaves: p.maxLeaves,
        deepest_leaf: Math.max(0, ...model.trees.map(treeDepth)),
        min_child_weight: p.minChildWeight,
        min_samples_leaf: p.minSamplesLeaf,
        l2: p.l2,
        min_split_gain: p.minSplitGain,
        subsample: p.subsample,
        colsample: p.colsample,
        max_bins: p.maxBins,
        seed: p.seed,
        base_score: model.baseScore,
        early_stopping: {
          metric: "RMSE on the early-stopping days (end of the training period, before the validation weeks)",
          rounds: p.earlyStoppingRounds,
          best_rmse: round(result.bestValidationLoss),
        },
        fit_rows: fit.length,
        early_stopping_rows: stop.length,
        split_dates: {
          fit_first: isoDay(fit[0]!.day),
          fit_last: isoDay(fit.at(-1)!.day),
          early_stopping_first: isoDay(split.stopStart),
          early_stopping_last: isoDay(validationStart - DAY_MS),
          validation_first: isoDay(validationStart),
          validation_last: isoDay(lastDay),
        },
        products: series.products.length,
        product_selection: `the ${options.products} stock codes with the most selling days before ${isoDay(validationStart)} (ties: more units, then code)`,
        trading_days: series.days.length,
        min_history_trading_days: MIN_HISTORY,
        baselines: {
          seasonal_naive: "lag_7: units sold on the same weekday one week earlier",
          lag_1: "units sold on the previous trading day",
        },
        implementation: "Tidecast's own histogram GBDT (src/training/gbdt), float64 gradients, float32 leaf values and thresholds",
      },
      notes: [
        source.notes,
        `Demand = units on sale lines (non-cancellation invoices, positive quantity and price, product stock codes; with or without a CustomerID), ` +
          `summed per stock code and trading day, 0 on trading days without a sale; cancellations and returns are not netted out, so a ` +
          `single wholesale order (thousands of units) shows as one spike. Trading days are the ${series.days.length} days with any line in the file ` +
          `(no Saturdays, Christmas/New Year 2010-12-24..2011-01-03, the April/May 2011 bank holidays and 2011-05-30).`,
        `A row is one product on one trading day with at least ${MIN_HISTORY} earlier trading days; its features read only earlier days ` +
          `(one-day-ahead: validation rows use the actual sales up to the previous day).`,
        `The shipped trees were fitted on the ${fit.length} rows before ${isoDay(split.stopStart)} only and early-stopped at ${model.trees.length} ` +
          `of ${result.roundsRun} rounds on the ${stop.length} rows after; the ${validation.length} validation rows chose nothing.`,
        `Validation (${options.validationDays} days): RMSE ${metrics.rmse.toFixed(3)}, MAE ${metrics.mae.toFixed(3)}; seasonal naive (lag_7) RMSE ` +
          `${seasonal.rmse.toFixed(3)}, MAE ${seasonal.mae.toFixed(3)}; lag_1 RMSE ${lag1.rmse.toFixed(3)}, MAE ${lag1.mae.toFixed(3)}; rolling_mean_7 ` +
          `RMSE ${rolling7.rmse.toFixed(3)}, MAE ${rolling7.mae.toFixed(3)}; rolling_mean_28 RMSE ${rolling28.rmse.toFixed(3)}, MAE ${rolling28.mae.toFixed(3)}. ` +
          `The trees beat both naive baselines clearly but the 28-trading-day mean only narrowly (RMSE ${((1 - metrics.rmse / rolling28.rmse) * 100).toFixed(1)}% and ` +
          `MAE ${((1 - metrics.mae / rolling28.mae) * 100).toFixed(1)}% lower): most of the signal is the product's recent level. ` +
          "Daily demand is very spiky (wholesale orders), so RMSE is dominated by a few large days; squared error targets the mean, " +
          "which keeps MAE well above what a median forecast would get on the many zero days.",
        "month is not a feature: the data cover only December 2010 to early June 2011, so a month feature would be a time index " +
          "rather than seasonality, and the validation weeks fall in months barely (June: not) seen in training.",
        `onnxruntime (float32 output) reproduces the trainer's float64 forecast on all ${validation.length} validation rows within ` +
          `${worst.toExponential(1)} units absolute and ${worstRelative.toExponential(1)} relative (parity criterion: |Δ| ≤ 1e-5 × max(1, |ŷ|)). ` +
          `Validation rows with a clipped value: ${validationX.warned}.`,
        "Feature importance is the mean |TreeSHAP| contribution (units) per feature over the validation rows.",
      ]
        .filter((s) => s !== "")
        .join(" "),
    },
    metrics: {
      validation: {
        ...roundMetrics(metrics),
        seasonal_naive_rmse: round(seasonal.rmse),
        seasonal_naive_mae: round(seasonal.mae),
        lag_1_rmse: round(lag1.rmse),
        lag_1_mae: round(lag1.mae),
        mean_quantity: round(y.reduce((a, b) => a + b, 0) / y.length),
      },
      // seasonal naive (lag_7) is the baseline; lag_1 and rolling means alongside
      baseline: {
        ...roundMetrics(seasonal),
        lag_1_rmse: round(lag1.rmse),
        lag_1_mae: round(lag1.mae),
        lag_1_r2: round(lag1.r2),
        rolling_mean_7_rmse: round(rolling7.rmse),
        rolling_mean_7_mae: round(rolling7.mae),
        rolling_mean_28_rmse: round(rolling28.rmse),
        rolling_mean_28_mae: round(rolling28.mae),
      },
    },
    feature_importance: importance,
    explainer: { kind: "tree", link: "identity", base_score: model.baseScore, base_value: baseValue, trees: model.trees.map(cardTree) },
  });
  if (failing > 0) {
    throw new TrainingError(`${NAME}: onnxruntime differs from the trainer by more than ${DEMAND_PARITY_TOLERANCE} × max(1, |ŷ|) on ${failing} validation rows`);
  }
  log(`${NAME}: trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { card, onnx, parity: parityFile(validation, predicted, options.parityRows) };
}

/** Evenly spaced validation rows (so zero and busy days alike) with the trainer's float64 forecast. */
function parityFile(validation: readonly DemandRow[], predicted: readonly number[], wanted: number): ParityFile {
  const n = Math.min(wanted, validation.length);
  const step = validation.length / n;
  const rows = Array.from({ length: n }, (_, s) => {
    const k = Math.floor(s * step);
    return { features: { ...validation[k]!.features }, probability: predicted[k]! };
  });
  return {
    model: NAME,
    version: VERSION,
    description:
      "Evenly spaced validation rows (product-days) with the trainer's float64 forecast in units (as `probability`); onnxruntime must " +
      "agree within tolerance × max(1, |probability|): absolute up to one unit, relative above (the graph's output is float32).",
    tolerance: DEMAND_PARITY_TOLERANCE,
    rows,
  };
}

export const demandForecast: TrainerEntry = {
  name: NAME,
  version: VERSION,
  summary: "daily units per product (one day ahead), gradient-boosted trees on lags/calendar, UCI Online Retail",
  async train({ datasetsDir, log, now }) {
    const data = await loadRetail(datasetsDir);
    log(`${NAME}: read ${data.lines.length} lines from ${data.file}`);
    const source: DemandSource = {
      dataset: RETAIL_DIR,
      source: relative(ROOT_DIR, data.sourceFile),
      files: [RETAIL_FILE],
      synthetic: false,
      notes:
        `Real data: all ${data.lines.length} transaction lines of ${RETAIL_FILE} (sha256 ${data.sha256}), the chronological subset ` +
        "2010-12-01..2011-06-05 of UCI Online Retail described in SOURCE.md.",
    };
    return buildDemandForecast(data.lines, source, DEMAND_DEFAULTS, log, now ?? new Date());
  },
  async evaluationSet() {
    return undefined;
  },
};
