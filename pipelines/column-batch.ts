/**
 * Rows sent to Postgres as one JSON array per column, split by json_array_elements(_text) and
 * zipped by position (`ROWS FROM`): one short statement whatever the batch size, and no document of
 * rows for Postgres to unpack field by field. `bindings()` gives the arrays in `columns`' order,
 * which must be the statement's.
 */
export class ColumnBatch<Row extends Record<string, unknown>> {
  private readonly values: unknown[][];

  constructor(private readonly columns: readonly (keyof Row)[]) {
    this.values = columns.map(() => []);
  }

  get length(): number {
    return this.values[0]?.length ?? 0;
  }

  add(row: Row): void {
    for (let c = 0; c < this.columns.length; c++) this.values[c]!.push(row[this.columns[c]!]);
  }

  /** The statement's parameters: one JSON array per column. */
  bindings(): string[] {
    return this.values.map((column) => JSON.stringify(column));
  }
}
