/** Plain-text tables for the NAB command-line tools. */

/** Left-aligns the first column and right-aligns the others. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function fixed(x: number | undefined, digits = 2): string {
  return x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits);
}

export function signed(x: number | undefined, digits = 3): string {
  if (x === undefined || Number.isNaN(x)) return "-";
  const s = x.toFixed(digits);
  return x >= 0 ? `+${s}` : s;
}
