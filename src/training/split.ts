/**
 * Seeded, stratified train/validation split. The same seed and labels give the same split on every
 * machine, so a card's `split.seed` is enough to rebuild its validation rows.
 */

/** mulberry32: a tiny 32-bit PRNG; plenty for shuffling, and identical across platforms. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** In-place Fisher–Yates shuffle driven by `random`. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

export interface Split {
  /** row indices, ascending */
  train: number[];
  /** row indices, ascending */
  validation: number[];
}

/**
 * Puts `round(fraction × count)` rows of each label value in validation, chosen by a seeded shuffle
 * of that label's rows, so both sides keep the label balance of the whole set.
 */
export function stratifiedSplit(labels: ArrayLike<number>, validationFraction: number, seed: number): Split {
  if (!(validationFraction > 0 && validationFraction < 1)) {
    throw new RangeError(`validationFraction must be in (0, 1), got ${validationFraction}`);
  }
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    let rows = byLabel.get(label);
    if (!rows) byLabel.set(label, (rows = []));
    rows.push(i);
  }
  const random = mulberry32(seed);
  const validation: number[] = [];
  // label order fixed (ascending) so the random stream is consumed the same way every time
  for (const label of [...byLabel.keys()].sort((a, b) => a - b)) {
    const rows = shuffle(byLabel.get(label)!, random);
    validation.push(...rows.slice(0, Math.round(rows.length * validationFraction)));
  }
  validation.sort((a, b) => a - b);
  const inValidation = new Uint8Array(labels.length);
  for (const i of validation) inValidation[i] = 1;
  const train: number[] = [];
  for (let i = 0; i < labels.length; i++) if (!inValidation[i]) train.push(i);
  return { train, validation };
}
