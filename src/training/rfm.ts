/**
 * RFM (recency, frequency, monetary) per customer from purchase lines, the classic input of
 * customer segmentation (Chen, Sain & Guo 2012 used it on this very dataset).
 *
 *   recency_days = whole days from the customer's last purchase to the reference time
 *   frequency    = distinct invoices with at least one purchase line
 *   monetary     = Σ quantity × unit price over purchase lines (gross: returns are not netted)
 */

export interface PurchaseLine {
  customerId: string;
  invoice: string;
  /** epoch ms */
  time: number;
  quantity: number;
  unitPrice: number;
}

export interface Rfm {
  customerId: string;
  recency_days: number;
  frequency: number;
  monetary: number;
}

const DAY_MS = 86_400_000;

/**
 * One RFM row per customer, sorted by customer id (so the order, and anything seeded on it, is
 * stable). `reference` is usually the start of the day after the last transaction.
 */
export function computeRfm(lines: Iterable<PurchaseLine>, reference: number): Rfm[] {
  const byCustomer = new Map<string, { last: number; invoices: Set<string>; spend: number }>();
  for (const l of lines) {
    if (l.time >= reference) throw new RangeError(`purchase at ${new Date(l.time).toISOString()} is not before the reference time`);
    let c = byCustomer.get(l.customerId);
    if (!c) byCustomer.set(l.customerId, (c = { last: l.time, invoices: new Set(), spend: 0 }));
    if (l.time > c.last) c.last = l.time;
    c.invoices.add(l.invoice);
    c.spend += l.quantity * l.unitPrice;
  }
  return [...byCustomer.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([customerId, c]) => ({
      customerId,
      recency_days: Math.floor((reference - c.last) / DAY_MS),
      frequency: c.invoices.size,
      // cents, so float summation order cannot change the stored value
      monetary: Math.round(c.spend * 100) / 100,
    }));
}

/**
 * The space k-means works in: log1p of each of R, F, M, then standardised with the training means
 * and standard deviations. The ONNX graph repeats exactly these steps on the raw inputs.
 */
export interface RfmTransform {
  /** per feature, in order recency_days, frequency, monetary */
  means: [number, number, number];
  scales: [number, number, number];
}

export const RFM_FEATURES = ["recency_days", "frequency", "monetary"] as const;

export function logRfm(r: Pick<Rfm, (typeof RFM_FEATURES)[number]>): [number, number, number] {
  return [Math.log1p(r.recency_days), Math.log1p(r.frequency), Math.log1p(r.monetary)];
}

export function fitRfmTransform(rows: readonly Pick<Rfm, (typeof RFM_FEATURES)[number]>[]): RfmTransform {
  const logs = rows.map(logRfm);
  const column = (j: number) => logs.map((v) => v[j]!);
  const stats = [0, 1, 2].map((j) => {
    const values = column(j);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    return { mean, scale: sd > 0 ? sd : 1 };
  });
  return {
    means: [stats[0]!.mean, stats[1]!.mean, stats[2]!.mean],
    scales: [stats[0]!.scale, stats[1]!.scale, stats[2]!.scale],
  };
}

export function applyRfmTransform(t: RfmTransform, r: Pick<Rfm, (typeof RFM_FEATURES)[number]>): number[] {
  const v = logRfm(r);
  return v.map((x, j) => (x - t.means[j]!) / t.scales[j]!);
}
