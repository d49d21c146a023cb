/**
 * `recommend_retail` 1.0.0: which products to suggest for a basket (a customer's recent items).
 * ItemKNN (cosine with shrinkage, K neighbours per candidate item, a small popularity term) on the
 * UCI Online Retail purchases, tuned on one 4-week window and measured on the last 4 weeks against
 * popularity; the shipped model is refitted on every day with the chosen hyperparameters.
 */
import { access } from "node:fs/promises";
import { join, relative } from "node:path";
import { ROOT_DIR } from "../../config.ts";
import { ModelCardSchema, type Benchmark, type FeatureSpec, type ModelCard } from "../../models/card.ts";
import { dayStart, isPurchase, loadRetail, RETAIL_DIR, RETAIL_FILE } from "../datasets/retail.ts";
import { loadMovielensBase, MOVIELENS_DIR, MOVIELENS_TRAIN_FILE } from "../datasets/movielens.ts";
import {
  buildItemKnn,
  cooccurrence,
  itemCounts,
  itemNeighbours,
  knnRanker,
  popularityRanker,
  scoreHistory,
  topN,
  type Interactions,
  type ItemKnnModel,
  type ItemKnnOptions,
} from "../recommender.ts";
import { benchmarkMovielens, movielensBenchmark } from "../recommender-benchmark.ts";
import { rankingMetrics, roundRanking, type EvalCase, type RankingMetrics } from "../recommender-eval.ts";
import { exportItemKnn } from "../recommender-onnx.ts";
import type { ParityFile, ParityRow, TrainedModel, TrainerEntry } from "../trainer.ts";

const NAME = "recommend_retail";
const VERSION = "1.0.0";
const INPUT = "basket";
const ITEMS_OUTPUT = "top_items";
const SCORES_OUTPUT = "top_scores";
const DAY_MS = 86_400_000;
const PARITY_TOLERANCE = 1e-5;

/** One purchase line, as much of it as the recommender reads. */
export interface BasketLine {
  customerId: string;
  stockCode: string;
  description: string;
  /** epoch ms */
  time: number;
}

export interface RecommendOptions {
  /** the evaluation window: the last `testDays` days */
  testDays: number;
  /** the tuning window: the `validationDays` days before the evaluation window */
  validationDays: number;
  /** an item enters the vocabulary when this many distinct customers bought it in the training days */
  minCustomers: number;
  /** cut-off of the ranking metrics */
  k: number;
  /** the most recommendations a request can ask for (`n`), and the default */
  maxN: number;
  defaultN: number;
  grid: { neighbours: number[]; shrinkage: number[]; popularityWeight: number[] };
  parityRows: number;
  /** basket size in parity rows: each customer's most recent distinct items */
  parityBasket: number;
}

export const RECOMMEND_DEFAULTS: RecommendOptions = {
  testDays: 28,
  validationDays: 28,
  minCustomers: 2,
  k: 10,
  maxN: 50,
  defaultN: 10,
  grid: { neighbours: [25, 50, 100, 200], shrinkage: [0, 10, 50], popularityWeight: [0.001, 0.1, 1] },
  parityRows: 40,
  parityBasket: 30,
};

export interface RecommendSource {
  dataset: string;
  source: string;
  files: string[];
  notes: string;
}

/** A recommender parity row: `probability` is the top score (-1 when nothing is recommended). */
export interface RecommendParityRow extends ParityRow {
  items: string[];
  scores: number[];
}

interface Window {
  data: Interactions;
  vocabulary: string[];
  cases: EvalCase[];
  /** customers with purchases on both sides of the cut */
  bothSides: number;
}

const round = (x: number, d = 6) => Number(x.toFixed(d));
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * Interactions of the lines before `cut` over the items at least `minCustomers` customers bought
 * there; evaluation cases for customers on both sides: what they bought in [cut, end) that they had
 * not bought before (and that is in the vocabulary).
 */
export function timeWindow(lines: readonly BasketLine[], cut: number, end: number, minCustomers: number): Window {
  const before = lines.filter((l) => l.time < cut);
  const vocabulary = vocabularyOf(before, minCustomers);
  const index = new Map(vocabulary.map((c, i) => [c, i]));
  const history = histories(before, index);
  const after = histories(
    lines.filter((l) => l.time >= cut && l.time < end),
    index,
  );
  const customers = [...history.keys()].sort();
  const data: Interactions = { items: vocabulary.length, histories: customers.map((c) => history.get(c)!) };
  const cases: EvalCase[] = [];
  let bothSides = 0;
  customers.forEach((c, u) => {
    const later = after.get(c);
    if (!later) return;
    bothSides++;
    const own = new Set(data.histories[u]!);
    const relevant = new Set([...later].filter((i) => !own.has(i)));
    if (relevant.size > 0) cases.push({ history: data.histories[u]!, relevant });
  });
  return { data, vocabulary, cases, bothSides };
}

function vocabularyOf(lines: readonly BasketLine[], minCustomers: number): string[] {
  const buyers = new Map<string, Set<string>>();
  for (const l of lines) {
    let set = buyers.get(l.stockCode);
    if (!set) buyers.set(l.stockCode, (set = new Set()));
    set.add(l.customerId);
  }
  return [...buyers.entries()]
    .filter(([, s]) => s.size >= minCustomers)
    .map(([code]) => code)
    .sort();
}

function histories(lines: readonly BasketLine[], index: ReadonlyMap<string, number>): Map<string, Int32Array> {
  const sets = new Map<string, Set<number>>();
  for (const l of lines) {
    const i = index.get(l.stockCode);
    if (i === undefined) continue;
    let set = sets.get(l.customerId);
    if (!set) sets.set(l.customerId, (set = new Set()));
    set.add(i);
  }
  return new Map([...sets].map(([c, s]) => [c, Int32Array.from(s).sort()]));
}

interface GridResult extends ItemKnnOptions {
  metrics: RankingMetrics;
}

/** Every grid point on a window, neighbour lists computed once per shrinkage. */
function searchGrid(w: Window, options: RecommendOptions, log: (line: string) => void): GridResult[] {
  const co = cooccurrence(w.data);
  const counts = itemCounts(w.data);
  const maxK = Math.max(...options.grid.neighbours);
  const results: GridResult[] = [];
  for (const shrinkage of options.grid.shrinkage) {
    const lists = itemNeighbours(co, counts, shrinkage, Math.min(maxK, Math.max(1, w.data.items - 1)));
    for (const neighbours of options.grid.neighbours) {
      for (const popularityWeight of options.grid.popularityWeight) {
        const config = { neighbours: Math.min(neighbours, lists.k), shrinkage, popularityWeight };
        const metrics = rankingMetrics(knnRanker(buildItemKnn(lists, counts, config)), w.cases, options.k, w.data.items);
        results.push({ ...config, neighbours, metrics });
        log(`${NAME}: K=${neighbours} shrinkage=${shrinkage} popularity=${popularityWeight}: NDCG@${options.k} ${metrics.ndcg.toFixed(4)} P@${options.k} ${metrics.precision.toFixed(4)}`);
      }
    }
  }
  return results;
}

function evaluateConfig(w: Window, config: ItemKnnOptions, k: number): { itemknn: RankingMetrics; popularity: RankingMetrics } {
  const counts = itemCounts(w.data);
  const lists = itemNeighbours(cooccurrence(w.data), counts, config.shrinkage, Math.min(config.neighbours, Math.max(1, w.data.items - 1)));
  const model = buildItemKnn(lists, counts, { ...config, neighbours: lists.k });
  return {
    itemknn: rankingMetrics(knnRanker(model), w.cases, k, w.data.items),
    popularity: rankingMetrics(popularityRanker(counts), w.cases, k, w.data.items),
  };
}

/** Everything from purchase lines to card, ONNX and parity; `train` adds the datasets around it. */
export function buildRecommendRetail(
  lines: readonly BasketLine[],
  source: RecommendSource,
  options: RecommendOptions = RECOMMEND_DEFAULTS,
  log: (line: string) => void = () => {},
  now: Date = new Date(),
  benchmark?: (config: ItemKnnOptions) => Benchmark | undefined,
): TrainedModel {
  let lastTime = -Infinity;
  let firstTime = Infinity;
  for (const l of lines) {
    lastTime = Math.max(lastTime, l.time);
    firstTime = Math.min(firstTime, l.time);
  }
  const end = dayStart(lastTime) + DAY_MS;
  const testStart = end - options.testDays * DAY_MS;
  const validationStart = testStart - options.validationDays * DAY_MS;

  // 1. tune on the window before the test window
  const validation = timeWindow(lines, validationStart, testStart, options.minCustomers);
  log(`${NAME}: tuning: train < ${isoDay(validationStart)} (${validation.data.items} items), ${validation.cases.length} customers evaluated on ${isoDay(validationStart)}..${isoDay(testStart - 1)}`);
  const grid = searchGrid(validation, options, log);
  // best NDCG; ties to the earlier grid point (fewer neighbours, less shrinkage, less popularity)
  const best = grid.reduce((a, b) => (b.metrics.ndcg > a.metrics.ndcg ? b : a));
  const config: ItemKnnOptions = { neighbours: best.neighbours, shrinkage: best.shrinkage, popularityWeight: best.popularityWeight };
  log(`${NAME}: chose K=${config.neighbours} shrinkage=${config.shrinkage} popularity=${config.popularityWeight} (validation NDCG@${options.k} ${best.metrics.ndcg.toFixed(4)})`);

  // 2. measure on the last weeks, trained on everything before them
  const test = timeWindow(lines, testStart, end, options.minCustomers);
  const measured = evaluateConfig(test, config, options.k);
  log(
    `${NAME}: test ${isoDay(testStart)}..${isoDay(end - 1)}: ${measured.itemknn.users} customers; ItemKNN P@${options.k} ${measured.itemknn.precision.toFixed(4)} ` +
      `R@${options.k} ${measured.itemknn.recall.toFixed(4)} NDCG@${options.k} ${measured.itemknn.ndcg.toFixed(4)}; popularity P@${options.k} ${measured.popularity.precision.toFixed(4)}`,
  );

  // 3. the shipped model: every day, same hyperparameters
  const full = timeWindow(lines, end, end, options.minCustomers);
  const counts = itemCounts(full.data);
  const lists = itemNeighbours(cooccurrence(full.data), counts, config.shrinkage, Math.min(config.neighbours, Math.max(1, full.data.items - 1)));
  const model = buildItemKnn(lists, counts, { ...config, neighbours: lists.k });
  const maxN = Math.min(options.maxN, full.vocabulary.length);
  log(`${NAME}: final model on ${full.data.histories.length} customers × ${full.vocabulary.length} items`);

  const labels = itemLabels(lines);
  const features: FeatureSpec[] = [
    {
      name: "items",
      type: "category",
      required: true,
      description:
        "the customer's recent items (StockCodes), a JSON array of strings (or one string separated by \";\"); " +
        "unknown codes are ignored with a warning; an empty list gets the best sellers",
      categories: full.vocabulary,
      multiple: true,
      out_of_range: "clip",
      unknown_category: "map_unknown",
    },
    {
      name: "n",
      type: "integer",
      required: false,
      description: `how many items to recommend (1–${maxN}, default ${options.defaultN}; values outside are clipped)`,
      min: 1,
      max: maxN,
      default: Math.min(options.defaultN, maxN),
      out_of_range: "clip",
      unknown_category: "map_unknown",
    },
    {
      name: "customer_id",
      type: "integer",
      required: false,
      description: "the customer the basket belongs to; stored with the prediction, not used by the model (0 = anonymous)",
      default: 0,
      out_of_range: "accept",
      unknown_category: "map_unknown",
    },
  ];
  const encoding = {
    input_name: INPUT,
    columns: [
      ...full.vocabulary.map((category) => ({ kind: "onehot" as const, feature: "items", category })),
      { kind: "numeric" as const, feature: "n" },
    ],
  };
  const bench = benchmark?.(config);
  const card: ModelCard = ModelCardSchema.parse({
    name: NAME,
    version: VERSION,
    display_name: "Retail product recommendations",
    description:
      "Recommends products for a basket: the items a customer bought recently (UCI Online Retail StockCodes) in, the top-n " +
      "other items out, best first, never an item already in the basket. Item-based nearest neighbours: an item scores the " +
      "summed cosine similarity (with shrinkage) of the basket items among its K most similar items, plus a small " +
      "popularity term, so an empty or unknown basket gets the best sellers. The score is the best item's score; " +
      "`details.recommendations` lists the items. Trained on every purchase of 2010-12-01..2011-06-05.",
    task: "recommendation",
    algorithm: "item_knn",
    created_at: now.toISOString(),
    features,
    encoding,
    outputs: { score_output: SCORES_OUTPUT, probability_index: 0 },
    training: {
      dataset: source.dataset,
      source: source.source,
      files: source.files,
      rows: lines.length,
      synthetic: false,
      split: {
        method:
          `time-based: hyperparameters tuned on purchases before ${isoDay(validationStart)} evaluated on ` +
          `${isoDay(validationStart)}..${isoDay(testStart - 1)}; metrics measured on purchases before ${isoDay(testStart)} ` +
          `evaluated on ${isoDay(testStart)}..${isoDay(end - 1)} (customers who bought on both sides; relevant = items new ` +
          "to the customer that are in the training vocabulary); the shipped model is refitted on all days",
        train_rows: lines.filter((l) => l.time < testStart).length,
        validation_rows: lines.filter((l) => l.time >= testStart).length,
        seed: 0,
      },
      hyperparameters: {
        neighbours: config.neighbours,
        shrinkage: config.shrinkage,
        popularity_weight: config.popularityWeight,
        similarity: "cosine on the binary customer × item matrix: co / (sqrt(n_i · n_j) + shrinkage)",
        neighbourhood: "the K most similar items of the candidate item (column pruning)",
        min_customers_per_item: options.minCustomers,
        selection: `best NDCG@${options.k} on the tuning window over the grid (ties: first grid point)`,
        grid: options.grid,
        tuning_window: { train_before: isoDay(validationStart), evaluate: [isoDay(validationStart), isoDay(testStart - 1)], customers: validation.cases.length },
        tuning_results: grid.map((g) => ({
          neighbours: g.neighbours,
          shrinkage: g.shrinkage,
          popularity_weight: g.popularityWeight,
          [`ndcg_at_${options.k}`]: round(g.metrics.ndcg, 4),
          [`precision_at_${options.k}`]: round(g.metrics.precision, 4),
        })),
        vocabulary_items: full.vocabulary.length,
        customers: full.data.histories.length,
        max_n: maxN,
        seed: "none: the algorithm is deterministic (ties go to the lower item index)",
      },
      notes: [
        source.notes,
        `Test window: ${test.bothSides} customers bought on both sides of ${isoDay(testStart)}; ${measured.itemknn.users} of them ` +
          "bought at least one item new to them that is in the vocabulary and are evaluated (repeat purchases are excluded by " +
          "design: the model never recommends what is in the basket).",
        `The metrics describe the same algorithm and hyperparameters trained on the days before ${isoDay(testStart)}; the shipped ` +
          "artifact is refitted on all days, so it also knows the items and co-purchases of the last 4 weeks.",
        `Parity: onnxruntime (float32 MatMul) and the trainer (float64 sums of the same float32 similarities) agree within ${PARITY_TOLERANCE.toExponential()} on every score; items with scores closer than that may swap places.`,
      ]
        .filter((s) => s !== "")
        .join(" "),
    },
    metrics: {
      validation: { ...roundRanking(measured.itemknn), evaluation_customers_both_periods: test.bothSides },
      baseline: roundRanking(measured.popularity),
    },
    feature_importance: {},
    items: {
      items_output: ITEMS_OUTPUT,
      scores_output: SCORES_OUTPUT,
      vocabulary: full.vocabulary.map((id) => ({ id, label: labels.get(id) ?? "" })),
    },
    ...(bench ? { benchmarks: [bench] } : {}),
  });

  const onnx = exportItemKnn(model, {
    graphName: NAME,
    inputName: INPUT,
    itemsOutput: ITEMS_OUTPUT,
    scoresOutput: SCORES_OUTPUT,
    maxN,
    docString: `${card.display_name} ${VERSION}: ItemKNN (K=${config.neighbours}, shrinkage ${config.shrinkage}); "${ITEMS_OUTPUT}" indexes card.items.vocabulary`,
    metadata: { model: NAME, version: VERSION },
  });
  return { card, onnx, parity: parityFile(lines, full, model, maxN, options) };
}

/** Each StockCode's most frequent description (trimmed; ties: alphabetical). */
function itemLabels(lines: readonly BasketLine[]): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const l of lines) {
    let byText = counts.get(l.stockCode);
    if (!byText) counts.set(l.stockCode, (byText = new Map()));
    const text = l.description.trim();
    byText.set(text, (byText.get(text) ?? 0) + 1);
  }
  return new Map(
    [...counts].map(([code, byText]) => [code, [...byText].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0]]),
  );
}

/** What the trainer recommends for a basket of vocabulary indices: items and scores, best first. */
export function recommend(model: ItemKnnModel, basket: readonly number[], n: number): { items: number[]; scores: number[] } {
  const scores = scoreHistory(model, basket);
  const items = topN(scores, n).filter((j) => scores[j]! >= 0);
  return { items, scores: items.map((j) => scores[j]!) };
}

/**
 * Customers' most recent items as baskets with varied `n`, plus edge cases: an empty basket
 * (popularity), only unknown codes, n absent (the default), n = 1 and n = max.
 */
function parityFile(lines: readonly BasketLine[], full: Window, model: ItemKnnModel, maxN: number, options: RecommendOptions): ParityFile {
  const index = new Map(full.vocabulary.map((c, i) => [c, i]));
  const recent = new Map<string, string[]>();
  const sorted = [...lines].sort((a, b) => b.time - a.time || (a.stockCode < b.stockCode ? -1 : a.stockCode > b.stockCode ? 1 : 0));
  for (const l of sorted) {
    if (!index.has(l.stockCode)) continue;
    let items = recent.get(l.customerId);
    if (!items) recent.set(l.customerId, (items = []));
    if (items.length < options.parityBasket && !items.includes(l.stockCode)) items.push(l.stockCode);
  }
  const customers = [...recent.keys()].sort();
  const features: Record<string, unknown>[] = [{ items: [] }, { items: ["NOT-A-CODE"], n: 5 }];
  const wanted = Math.max(0, options.parityRows - 2);
  const sizes = [undefined, 1, Math.min(5, maxN), Math.min(20, maxN), maxN];
  for (let s = 0; s < Math.min(wanted, customers.length); s++) {
    const customer = customers[Math.floor((s * customers.length) / Math.min(wanted, customers.length))]!;
    const n = sizes[s % sizes.length];
    features.push({ items: recent.get(customer)!, ...(n === undefined ? {} : { n }), customer_id: Number(customer) || 0 });
  }
  const rows: RecommendParityRow[] = features.map((f) => {
    const basket = (f["items"] as string[]).flatMap((c) => (index.has(c) ? [index.get(c)!] : []));
    const n = typeof f["n"] === "number" ? f["n"] : Math.min(options.defaultN, maxN);
    const r = recommend(model, basket, n);
    return { features: f, probability: r.scores[0] ?? -1, items: r.items.map((j) => full.vocabulary[j]!), scores: r.scores };
  });
  return {
    model: NAME,
    version: VERSION,
    description:
      "Baskets with the trainer's recommendations (items and float64 scores; `probability` is the top score, -1 when " +
      "nothing is recommended); onnxruntime must give the same scores within tolerance, and the same items up to ties.",
    tolerance: PARITY_TOLERANCE,
    rows,
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Runs the MovieLens benchmark when the dataset is on this machine (see recommender-benchmark.ts). */
export async function movielensIfPresent(datasetsDir: string, log: (line: string) => void, now: Date): Promise<((config: ItemKnnOptions) => Benchmark) | undefined> {
  if (!(await exists(join(datasetsDir, MOVIELENS_DIR, MOVIELENS_TRAIN_FILE)))) {
    log(`${NAME}: ${MOVIELENS_DIR} absent; the card will have no MovieLens benchmark`);
    return undefined;
  }
  const { ratings } = await loadMovielensBase(datasetsDir);
  return (config) => {
    const result = benchmarkMovielens(ratings, config);
    log(`${NAME}: MovieLens u1.base benchmark: ItemKNN P@10 ${result.itemknn.precision.toFixed(4)} vs popularity ${result.popularity.precision.toFixed(4)}`);
    return movielensBenchmark(result, config, now);
  };
}

export const recommendRetail: TrainerEntry = {
  name: NAME,
  version: VERSION,
  summary: "retail basket recommendations, ItemKNN on UCI Online Retail (benchmarked on MovieLens 100K)",
  async train({ datasetsDir, log, now }) {
    const when = now ?? new Date();
    const data = await loadRetail(datasetsDir);
    const purchases = data.lines.filter(isPurchase);
    log(`${NAME}: read ${data.lines.length} lines from ${data.file}; ${purchases.length} purchase lines`);
    const source: RecommendSource = {
      dataset: RETAIL_DIR,
      source: relative(ROOT_DIR, data.sourceFile),
      files: [RETAIL_FILE],
      notes:
        `Real data: ${RETAIL_FILE} (sha256 ${data.sha256}), 2010-12-01..2011-06-05. Interactions are purchase lines ` +
        `(${purchases.length} of ${data.lines.length}: known customer, not cancelled, quantity and price > 0, product codes only), ` +
        "reduced to which customer bought which item (quantities and repeat orders ignored).",
    };
    const benchmark = await movielensIfPresent(datasetsDir, log, when);
    return buildRecommendRetail(purchases, source, RECOMMEND_DEFAULTS, log, when, benchmark);
  },
  async evaluationSet() {
    return undefined;
  },
};
