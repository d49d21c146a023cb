/**
 * Daily demand per product from the online-retail transactions (`retail.ts` reads the file):
 * quantity sold per StockCode per trading day, with 0 on trading days without a sale, and the lag /
 * rolling / calendar features `demand_forecast` is trained on.
 *
 * - A **sale line** is a product line (not postage, fees or adjustments) of a non-cancellation invoice
 *   with positive quantity and price; lines without a CustomerID count too (they are sales to guests).
 *   Cancellations and returns are not netted out.
 * - **Trading days** are the days with at least one line of any kind in the file: the shop does not
 *   trade on Saturdays, over Christmas/New Year or on bank holidays, and those days are neither rows
 *   nor zeros.
 * - Features for trading day d read only trading days strictly before d (see `demandFeatures`).
 */
import { dayStart, NON_PRODUCT_CODES, type RetailLine } from "./retail.ts";

export const DAY_MS = 86_400_000;

/** The features, in encoding order. */
export const DEMAND_FEATURES = ["lag_1", "lag_7", "lag_14", "rolling_mean_7", "rolling_mean_28", "day_of_week", "day_of_month"] as const;
export type DemandFeature = (typeof DEMAND_FEATURES)[number];
export type DemandFeatures = Record<DemandFeature, number>;

/** Trading days of history a row needs before its day (the longest window, `rolling_mean_28`). */
export const MIN_HISTORY = 28;

export function isSaleLine(l: RetailLine): boolean {
  return !l.invoice.startsWith("C") && l.quantity > 0 && l.unitPrice > 0 && !NON_PRODUCT_CODES.has(l.stockCode);
}

export interface DemandSeries {
  /** trading days (UTC midnight, ms), ascending */
  days: number[];
  /** chosen stock codes, most selling days first */
  products: string[];
  /** quantity[p][t]: units of products[p] sold on days[t] */
  quantity: Float64Array[];
}

export interface SeriesOptions {
  /** how many products to keep: the ones selling on the most trading days before `selectBefore` */
  products: number;
  /** only trading days before this (ms) rank the products, so later weeks choose nothing */
  selectBefore: number;
}

/**
 * The daily series of the `options.products` products with the most selling days before
 * `selectBefore` (ties: more units, then stock code).
 */
export function buildDemandSeries(lines: readonly RetailLine[], options: SeriesOptions): DemandSeries {
  const daySet = new Set<number>();
  for (const l of lines) daySet.add(dayStart(l.time));
  const days = [...daySet].sort((a, b) => a - b);
  const dayIndex = new Map(days.map((d, i) => [d, i]));

  const perProduct = new Map<string, Float64Array>();
  for (const l of lines) {
    if (!isSaleLine(l)) continue;
    let q = perProduct.get(l.stockCode);
    if (!q) perProduct.set(l.stockCode, (q = new Float64Array(days.length)));
    q[dayIndex.get(dayStart(l.time))!]! += l.quantity;
  }
  const ranked = [...perProduct].map(([code, q]) => {
    let sellingDays = 0;
    let units = 0;
    for (let t = 0; t < days.length && days[t]! < options.selectBefore; t++) {
      if (q[t]! > 0) sellingDays++;
      units += q[t]!;
    }
    return { code, q, sellingDays, units };
  });
  ranked.sort((a, b) => b.sellingDays - a.sellingDays || b.units - a.units || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  const chosen = ranked.slice(0, options.products).filter((r) => r.sellingDays > 0);
  return { days, products: chosen.map((r) => r.code), quantity: chosen.map((r) => r.q) };
}

/** Index of the latest trading day at or before `time` among days[0, end), or -1. */
function latestAtOrBefore(days: readonly number[], end: number, time: number): number {
  let lo = 0;
  let hi = end; // answer in [lo - 1, hi)
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (days[mid]! <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** 0 = Monday … 6 = Sunday, of a UTC day. */
export function dayOfWeek(day: number): number {
  return (new Date(day).getUTCDay() + 6) % 7;
}

/**
 * Features of one product on trading day `days[t]`, from trading days before it only:
 *
 * - `lag_k` (k = 1, 7, 14): units sold on the latest trading day on or before the date k calendar
 *   days earlier — lag_1 the previous trading day, lag_7 / lag_14 the same weekday 1 / 2 weeks
 *   earlier (or, when the shop was closed that day, the trading day before it).
 * - `rolling_mean_n` (n = 7, 28): mean units per trading day over the last n trading days.
 * - `day_of_week` 0 = Monday … 6 = Sunday, `day_of_month` 1–31 (UTC calendar of the day).
 *
 * Undefined when there are fewer than MIN_HISTORY earlier trading days or the lags reach before
 * the first one.
 */
export function demandFeatures(days: readonly number[], quantity: ArrayLike<number>, t: number): DemandFeatures | undefined {
  if (t < MIN_HISTORY || t >= days.length) return undefined;
  const day = days[t]!;
  const lag = (k: number): number | undefined => {
    const j = latestAtOrBefore(days, t, day - k * DAY_MS);
    return j < 0 || day - k * DAY_MS < days[0]! ? undefined : quantity[j]!;
  };
  const mean = (n: number): number => {
    let sum = 0;
    for (let j = t - n; j < t; j++) sum += quantity[j]!;
    return sum / n;
  };
  const lag1 = lag(1);
  const lag7 = lag(7);
  const lag14 = lag(14);
  if (lag1 === undefined || lag7 === undefined || lag14 === undefined) return undefined;
  return {
    lag_1: lag1,
    lag_7: lag7,
    lag_14: lag14,
    rolling_mean_7: mean(7),
    rolling_mean_28: mean(28),
    day_of_week: dayOfWeek(day),
    day_of_month: new Date(day).getUTCDate(),
  };
}

export interface DemandRow {
  product: string;
  /** trading day (UTC midnight, ms) */
  day: number;
  features: DemandFeatures;
  /** units sold that day */
  quantity: number;
}

/** One row per (product, trading day with enough history), by day then product. */
export function demandRows(series: DemandSeries): DemandRow[] {
  const rows: DemandRow[] = [];
  for (let t = 0; t < series.days.length; t++) {
    series.products.forEach((product, p) => {
      const q = series.quantity[p]!;
      const features = demandFeatures(series.days, q, t);
      if (features) rows.push({ product, day: series.days[t]!, features, quantity: q[t]! });
    });
  }
  return rows;
}

export interface TimeSplit {
  /** fits the trees: days before `stopStart` */
  fit: DemandRow[];
  /** early stopping: days in [stopStart, validationStart), the end of the training period */
  stop: DemandRow[];
  /** measures only: days from `validationStart` on */
  validation: DemandRow[];
  stopStart: number;
  validationStart: number;
}

/**
 * Split by date: the last `validationDays` calendar days (counted back from the day after the last
 * trading day) are validation, the `stopDays` before them stop the boosting, the rest fits.
 */
export function timeSplit(rows: readonly DemandRow[], lastDay: number, validationDays: number, stopDays: number): TimeSplit {
  const validationStart = lastDay + DAY_MS - validationDays * DAY_MS;
  const stopStart = validationStart - stopDays * DAY_MS;
  return {
    fit: rows.filter((r) => r.day < stopStart),
    stop: rows.filter((r) => r.day >= stopStart && r.day < validationStart),
    validation: rows.filter((r) => r.day >= validationStart),
    stopStart,
    validationStart,
  };
}

export const isoDay = (day: number): string => new Date(day).toISOString().slice(0, 10);
