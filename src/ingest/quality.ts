/**
 * The data-quality report of one import, built row by row in one pass and in constant memory:
 * counters per column, and only the first few examples of each kind of problem.
 */

/** How many examples of each kind a report keeps. */
export const MAX_EXAMPLES = 10;

export interface ColumnQuality {
  missing: number;
  invalid: number;
  outliers: number;
}

export interface QualityExample {
  /** 1-based data row (the header is row 0) */
  row: number;
  /** the column, or "$row" for a problem with the row as a whole */
  column: string;
  value: string;
  reason: string;
}

export interface QualityReport {
  rows: { total: number; valid: number; rejected: number };
  /** cells checked: data rows × checked columns; each is clean, missing, invalid or an outlier */
  cells: { checked: number; clean: number };
  missing_values: number;
  invalid_formats: number;
  outliers: number;
  /** 100 × clean cells / checked cells, one decimal; null when there is no data row */
  quality_score: number | null;
  columns: Record<string, ColumnQuality>;
  /** header columns the target does not use (not checked, not published) */
  ignored_columns: string[];
  examples: { invalid: QualityExample[]; outliers: QualityExample[] };
}

/** Accumulates a report. Each cell gets at most one verdict: the validator decides which. */
export class QualityReportBuilder {
  private readonly columns = new Map<string, ColumnQuality>();
  private total = 0;
  private rejected = 0;
  private missing = 0;
  private invalidCells = 0;
  private outlierCount = 0;
  /** rows that could not be read cell by cell (wrong column count): each makes all its cells unclean */
  private rowErrors = 0;
  private readonly invalidExamples: QualityExample[] = [];
  private readonly outlierExamples: QualityExample[] = [];

  constructor(
    checkedColumns: readonly string[],
    private readonly ignored: readonly string[] = [],
  ) {
    for (const c of checkedColumns) this.columns.set(c, { missing: 0, invalid: 0, outliers: 0 });
  }

  markMissing(column: string): void {
    this.column(column).missing++;
    this.missing++;
  }

  markInvalid(row: number, column: string, value: string, reason: string): void {
    this.column(column).invalid++;
    this.invalidCells++;
    if (this.invalidExamples.length < MAX_EXAMPLES) this.invalidExamples.push({ row, column, value: clip(value), reason });
  }

  markOutlier(row: number, column: string, value: string, reason: string): void {
    this.column(column).outliers++;
    this.outlierCount++;
    if (this.outlierExamples.length < MAX_EXAMPLES) this.outlierExamples.push({ row, column, value: clip(value), reason });
  }

  /** A row that cannot be read cell by cell: all its checked cells count as invalid. */
  markRowInvalid(row: number, reason: string, raw: string): void {
    this.rowErrors++;
    if (this.invalidExamples.length < MAX_EXAMPLES) this.invalidExamples.push({ row, column: "$row", value: clip(raw), reason });
  }

  /** Closes a row: every row is counted once, accepted (published) or rejected. */
  endRow(accepted: boolean): void {
    this.total++;
    if (!accepted) this.rejected++;
  }

  get rowsTotal(): number {
    return this.total;
  }

  get rowsRejected(): number {
    return this.rejected;
  }

  build(): QualityReport {
    const checked = this.total * this.columns.size;
    const unclean = this.missing + this.invalidCells + this.outlierCount + this.rowErrors * this.columns.size;
    const clean = Math.max(0, checked - unclean);
    return {
      rows: { total: this.total, valid: this.total - this.rejected, rejected: this.rejected },
      cells: { checked, clean },
      missing_values: this.missing,
      invalid_formats: this.invalidCells + this.rowErrors,
      outliers: this.outlierCount,
      quality_score: checked === 0 ? null : Math.round((1000 * clean) / checked) / 10,
      columns: Object.fromEntries([...this.columns].map(([name, q]) => [name, { ...q }])),
      ignored_columns: [...this.ignored],
      examples: { invalid: [...this.invalidExamples], outliers: [...this.outlierExamples] },
    };
  }

  private column(name: string): ColumnQuality {
    let q = this.columns.get(name);
    if (!q) this.columns.set(name, (q = { missing: 0, invalid: 0, outliers: 0 }));
    return q;
  }
}

/** Values in examples are cut so one huge cell cannot bloat the stored report. */
function clip(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}

/**
 * Running mean and variance (Welford), for outliers found in the same single pass that reads the
 * rows: a value is judged against the values of the rows before it, once there are enough of them.
 */
export class RunningStats {
  private n = 0;
  private mean = 0;
  private m2 = 0;

  constructor(
    /** how many standard deviations from the mean make an outlier */
    private readonly sigmas = 4,
    /** values seen before any is judged: a few rows say little about a spread */
    private readonly warmUp = 30,
  ) {}

  /** Whether `x` is an outlier against the values seen so far; then adds it to them. */
  observe(x: number): boolean {
    let outlier = false;
    if (this.n >= this.warmUp) {
      const sd = Math.sqrt(this.m2 / (this.n - 1));
      outlier = sd > 0 && Math.abs(x - this.mean) > this.sigmas * sd;
    }
    this.n++;
    const delta = x - this.mean;
    this.mean += delta / this.n;
    this.m2 += delta * (x - this.mean);
    return outlier;
  }

  get count(): number {
    return this.n;
  }

  get stats(): { mean: number; sd: number } {
    return { mean: this.mean, sd: this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : 0 };
  }
}
