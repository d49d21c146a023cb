/**
 * Binary classification metrics on predicted probabilities. Positive class = label 1.
 */

export interface BinaryMetrics {
  auc: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  log_loss: number;
  brier: number;
  threshold: number;
  /** share of rows with label 1 */
  positive_rate: number;
  rows: number;
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

function checkLengths(labels: ArrayLike<number>, scores: ArrayLike<number>): void {
  if (labels.length !== scores.length) throw new RangeError(`${labels.length} labels but ${scores.length} scores`);
  if (labels.length === 0) throw new RangeError("no rows");
}

/**
 * Area under the ROC curve by the rank-sum (Mann–Whitney) formula; tied scores share their average
 * rank, which counts a tied positive/negative pair as one half. NaN when one class is absent.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores);
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const averageRank = (start + 1 + end) / 2; // ranks start..end-1 are 1-based start+1..end
    for (let k = start; k < end; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean negative log-likelihood; probabilities are clipped to [eps, 1 − eps]. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>, eps = 1e-15): number {
  checkLengths(labels, probabilities);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(Math.max(probabilities[i]!, eps), 1 - eps);
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

/** Mean squared error of the probabilities. */
export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  checkLengths(labels, probabilities);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += (probabilities[i]! - labels[i]!) ** 2;
  return sum / labels.length;
}

/** Counts with "positive" meaning score ≥ threshold. */
export function confusion(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold: number): Confusion {
  checkLengths(labels, scores);
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (labels[i] === 1) {
      if (predicted) c.tp++;
      else c.fn++;
    } else if (predicted) c.fp++;
    else c.tn++;
  }
  return c;
}

/** Precision, recall and F1 from counts; 0 where a ratio is 0/0. */
export function precisionRecallF1(c: Confusion): { precision: number; recall: number; f1: number } {
  const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/**
 * The threshold that maximises F1 (positive when score ≥ threshold). Candidate cuts lie between
 * consecutive distinct scores; the returned threshold is the midpoint of the best gap, so tiny
 * float differences between trainer and runtime cannot move a row across it. Ties in F1 go to the
 * higher threshold.
 */
export function bestF1Threshold(labels: ArrayLike<number>, scores: ArrayLike<number>): { threshold: number; f1: number } {
  checkLengths(labels, scores);
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let totalPositives = 0;
  for (let i = 0; i < n; i++) totalPositives += labels[i] === 1 ? 1 : 0;
  let tp = 0;
  let fp = 0;
  let best = { threshold: Infinity, f1: 0 };
  for (let start = 0; start < n; ) {
    let end = start;
    const s = scores[order[start]!]!;
    while (end < n && scores[order[end]!] === s) {
      if (labels[order[end]!] === 1) tp++;
      else fp++;
      end++;
    }
    // predicting positive for every score ≥ s
    const f1 = (2 * tp) / (tp + fp + totalPositives);
    if (f1 > best.f1) {
      const below = end < n ? scores[order[end]!]! : -Infinity;
      best = { threshold: Number.isFinite(below) ? (s + below) / 2 : s, f1 };
    }
    start = end;
  }
  return best;
}

/** Every metric of the card at a given threshold. */
export function binaryMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold: number): BinaryMetrics {
  const c = confusion(labels, probabilities, threshold);
  const { precision, recall, f1 } = precisionRecallF1(c);
  return {
    auc: rocAuc(labels, probabilities),
    accuracy: (c.tp + c.tn) / labels.length,
    precision,
    recall,
    f1,
    log_loss: logLoss(labels, probabilities),
    brier: brierScore(labels, probabilities),
    threshold,
    positive_rate: (c.tp + c.fn) / labels.length,
    rows: labels.length,
  };
}
