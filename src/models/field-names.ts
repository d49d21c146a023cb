import { snakeCase } from "change-case";

const SEEN_KEYS = 1024;
const SEEN_KEY_LENGTH = 200;

/**
 * How a request field or a CSV column is matched to a card's names (features, aliases, ignored
 * columns): exactly, or else by its snake_case spelling. A card's names are its dataset's columns
 * in snake_case, so a row can be sent under the file's own header ("MonthlyCharges",
 * "emp.var.rate", "Air temperature [K]", "X1") as well as under the card's names.
 *
 * Two card names with one snake_case spelling (say "tv" and "TV") make that spelling ambiguous:
 * it then matches neither, and only the exact names do.
 */
export class FieldNames {
  private readonly bySpelling = new Map<string, string | null>();
  /**
   * Keys already resolved: a batch of dataset rows sends the same header on every row, and
   * spelling a key costs ~1.6 µs where a lookup costs ~15 ns. Only short keys are kept, and the map
   * is cleared when full, so keys that are all different cannot grow it.
   */
  private readonly seen = new Map<string, string | undefined>();

  constructor(names: Iterable<string>) {
    for (const name of names) {
      const spelling = snakeCase(name);
      const current = this.bySpelling.get(spelling);
      this.bySpelling.set(spelling, current === undefined || current === name ? name : null);
    }
  }

  /** The card name `key` stands for when it is not one itself; undefined when it matches none. */
  resolve(key: string): string | undefined {
    if (this.seen.has(key)) return this.seen.get(key);
    const name = this.bySpelling.get(snakeCase(key)) ?? undefined;
    if (key.length > SEEN_KEY_LENGTH) return name;
    if (this.seen.size >= SEEN_KEYS) this.seen.clear();
    this.seen.set(key, name);
    return name;
  }
}
