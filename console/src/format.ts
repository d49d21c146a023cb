export const num = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined ? "—" : x.toLocaleString("en", { maximumFractionDigits: digits });

export const percent = (x: number): string => `${(x * 100).toLocaleString("en", { maximumFractionDigits: 2 })} %`;

export const time = (iso: string): string => new Date(iso).toLocaleTimeString("en-GB");

export const sum = (values: Record<string, number>): number => Object.values(values).reduce((s, v) => s + v, 0);
