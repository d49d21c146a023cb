/**
 * Text features: the one implementation of tokenisation and TF-IDF weighting, shared by the
 * trainers (to build a vocabulary and encode training rows) and by the encoder (to encode a
 * request). Every step is driven by a card's `TextAnalyzer` (see its TSDoc in `card.ts` for the
 * order of the steps), so a card fully states how its text was read.
 *
 * Example (the analyzer the sentiment model ships with is `defaultAnalyzer()` plus its lexicon):
 *
 * ```ts
 * const analyzer = compileAnalyzer(defaultAnalyzer());
 * analyzer.tokens("It wasn't good. Great!");   // [["it", "wasn't", "not_good"], ["great"]]
 * analyzer.terms("It wasn't good.");            // Map { "it" → 1, "wasn't" → 1, "not_good" → 1, "it wasn't" → 1, ... }
 * ```
 */
import type { ModelCard, TextAnalyzer } from "./card.ts";

export type { TextAnalyzer } from "./card.ts";

export const TEXT_ALGORITHM = "tidecast-text/1" as const;

/**
 * A word: letters, combining marks and digits, with inner apostrophes kept ("don't", "o'clock").
 * Hyphens and other punctuation split words ("slow-moving" → "slow", "moving").
 */
export const DEFAULT_TOKEN_PATTERN = "[\\p{L}\\p{M}\\p{N}]+(?:'[\\p{L}\\p{M}\\p{N}]+)*";

/** Clause boundaries: sentence and clause punctuation, brackets, quotes, dashes. */
export const DEFAULT_BOUNDARY_PATTERN = "[.!?;:,()\\[\\]{}\"\\u2026\\u2013\\u2014]|-{2,}|\\s-\\s";

/** Characters folded to an ASCII apostrophe: right/left single quotes, modifier letter apostrophe, grave, acute. */
export const DEFAULT_APOSTROPHES = "\u2019\u2018\u02bc`\u00b4";

/**
 * Negation cues. Contractions written without the apostrophe ("dont", "isnt") are listed because
 * reviews often drop it; "n't" forms are caught by the suffix.
 */
export const DEFAULT_NEGATION_WORDS = [
  "not", "no", "never", "nor", "neither", "nothing", "nobody", "none", "nowhere", "without", "cannot", "hardly",
  "barely", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "cant", "couldnt", "wont", "wouldnt",
  "shouldnt", "havent", "hasnt", "hadnt", "aint",
];

export interface AnalyzerOptions {
  negation?: boolean;
  ngramMax?: number;
  tf?: TextAnalyzer["tf"];
  lexicon?: TextAnalyzer["lexicon"];
  vocabulary?: TextAnalyzer["vocabulary"];
}

/** The analyzer Tidecast's text models use, before a vocabulary is fitted. */
export function defaultAnalyzer(options: AnalyzerOptions = {}): TextAnalyzer {
  return {
    algorithm: TEXT_ALGORITHM,
    normalization: "NFKC",
    lowercase: true,
    apostrophes: DEFAULT_APOSTROPHES,
    token_pattern: DEFAULT_TOKEN_PATTERN,
    boundary_pattern: DEFAULT_BOUNDARY_PATTERN,
    ...(options.negation === false
      ? {}
      : { negation: { words: [...DEFAULT_NEGATION_WORDS], suffixes: ["n't"], scope: 3, prefix: "not_" } }),
    ...(options.lexicon ? { lexicon: options.lexicon } : {}),
    ngram_range: [1, options.ngramMax ?? 2],
    tf: options.tf ?? "binary",
    norm: "l2",
    vocabulary: options.vocabulary ?? { documents: 0, min_df: 1, idf: SMOOTH_IDF },
  };
}

/** The analyzer's parameters are unusable (an unknown algorithm, a regular expression that does not compile, ...). */
export class TextAnalyzerError extends Error {
  override name = "TextAnalyzerError";
}

/** A compiled analyzer: text in, clauses of tokens or term counts out. */
export interface Analyzer {
  readonly spec: TextAnalyzer;
  /** steps 1–3: normalised, negation-marked tokens, one array per clause (empty clauses dropped) */
  tokens(text: string): string[][];
  /** steps 1–5: every term (n-grams and lexicon terms) with its count in `text` */
  terms(text: string): Map<string, number>;
  /** step 4 for one (marked) token: its lexicon term, e.g. "afinn:-3", or undefined */
  lexiconTerm(token: string): string | undefined;
}

/**
 * Compiles a `TextAnalyzer` once; the result is stateless and safe to share.
 * @throws TextAnalyzerError on an unknown algorithm, a pattern that does not compile, a pattern
 *   that matches the empty string, or an n-gram range that is not `[min ≤ max]`.
 */
export function compileAnalyzer(spec: TextAnalyzer): Analyzer {
  if (spec.algorithm !== TEXT_ALGORITHM) throw new TextAnalyzerError(`unknown text algorithm "${String(spec.algorithm)}"`);
  const [nMin, nMax] = spec.ngram_range;
  if (!(nMin >= 1 && nMin <= nMax)) throw new TextAnalyzerError(`ngram_range [${nMin}, ${nMax}] must have 1 ≤ min ≤ max`);
  let scanner: RegExp;
  try {
    // Group 1 is a token, group 2 a boundary. Token first: a pattern matching both counts as a token.
    scanner = new RegExp(`(${spec.token_pattern})|(${spec.boundary_pattern})`, "gu");
  } catch (cause) {
    throw new TextAnalyzerError(`token_pattern or boundary_pattern does not compile: ${(cause as Error).message}`, { cause });
  }
  if (scanner.test("")) throw new TextAnalyzerError("token_pattern or boundary_pattern matches the empty string");
  const apostrophes = spec.apostrophes === "" ? null : new RegExp(`[${escapeClass(spec.apostrophes)}]`, "gu");
  const negation = spec.negation;
  const negationWords = new Set(negation?.words ?? []);
  const negationSuffixes = negation?.suffixes ?? [];
  const lexicon = spec.lexicon ? new Map(Object.entries(spec.lexicon.terms)) : null;

  const isCue = (token: string) => negationWords.has(token) || negationSuffixes.some((s) => token.endsWith(s));

  function tokens(text: string): string[][] {
    let s = text.normalize(spec.normalization);
    if (spec.lowercase) s = s.toLowerCase();
    if (apostrophes) s = s.replace(apostrophes, "'");
    const clauses: string[][] = [];
    let clause: string[] = [];
    let negated = 0;
    scanner.lastIndex = 0;
    for (let m = scanner.exec(s); m !== null; m = scanner.exec(s)) {
      if (m[1] === undefined) {
        if (clause.length > 0) clauses.push(clause);
        clause = [];
        negated = 0;
        continue;
      }
      const token = m[1];
      if (negation && negated > 0) {
        negated--;
        clause.push(negation.prefix + token);
      } else {
        clause.push(token);
      }
      if (negation && isCue(token)) negated = negation.scope;
    }
    if (clause.length > 0) clauses.push(clause);
    return clauses;
  }

  function lexiconTerm(token: string): string | undefined {
    if (!lexicon) return undefined;
    const negated = negation !== undefined && token.startsWith(negation.prefix);
    const score = lexicon.get(negated ? token.slice(negation!.prefix.length) : token);
    if (score === undefined || score === 0) return undefined;
    const signed = negated ? -score : score;
    return `${spec.lexicon!.prefix}${signed > 0 ? "+" : "-"}${Math.abs(signed)}`;
  }

  function terms(text: string): Map<string, number> {
    const counts = new Map<string, number>();
    const add = (term: string) => counts.set(term, (counts.get(term) ?? 0) + 1);
    for (const clause of tokens(text)) {
      for (let n = nMin; n <= nMax; n++) {
        for (let i = 0; i + n <= clause.length; i++) add(n === 1 ? clause[i]! : clause.slice(i, i + n).join(" "));
      }
      if (lexicon) {
        for (const token of clause) {
          const term = lexiconTerm(token);
          if (term !== undefined) add(term);
        }
      }
    }
    return counts;
  }

  return { spec, tokens, terms, lexiconTerm };
}

/** How `fitVocabulary` computes idf; stated in the card's `analyzer.vocabulary.idf`. */
export const SMOOTH_IDF = "ln((1 + documents) / (1 + df)) + 1 (smooth idf, as scikit-learn's TfidfVectorizer)";

export interface Vocabulary {
  /** terms in column order (sorted by code unit, so the order is reproducible) */
  terms: string[];
  /** idf of each term, same order */
  idf: number[];
  /** document frequency of each term in the fitting documents */
  df: number[];
  documents: number;
}

/**
 * The terms that occur in at least `minDf` documents (and, with `maxTerms`, only the most frequent
 * of them; ties broken by term order), with their smooth idf.
 */
export function fitVocabulary(documents: readonly Map<string, number>[], options: { minDf: number; maxTerms?: number }): Vocabulary {
  const df = new Map<string, number>();
  for (const doc of documents) for (const term of doc.keys()) df.set(term, (df.get(term) ?? 0) + 1);
  let kept = [...df].filter(([, n]) => n >= options.minDf);
  if (options.maxTerms !== undefined && kept.length > options.maxTerms) {
    kept = kept.sort((a, b) => b[1] - a[1] || compareTerms(a[0], b[0])).slice(0, options.maxTerms);
  }
  kept.sort((a, b) => compareTerms(a[0], b[0]));
  const n = documents.length;
  return {
    terms: kept.map(([t]) => t),
    idf: kept.map(([, d]) => Math.log((1 + n) / (1 + d)) + 1),
    df: kept.map(([, d]) => d),
    documents: n,
  };
}

/** Term frequency weight of a count under the analyzer's `tf`. */
export function tfWeight(count: number, tf: TextAnalyzer["tf"]): number {
  switch (tf) {
    case "binary":
      return 1;
    case "count":
      return count;
    case "log":
      return 1 + Math.log(count);
  }
}

/**
 * Writes the TF-IDF vector of `counts` into `out` at the given columns: for each term with a
 * column, tf × idf, then divided by the L2 norm over those terms when `norm` is "l2". Returns how
 * many distinct terms had a column (0 leaves the columns untouched).
 */
export function writeTfidf(
  counts: ReadonlyMap<string, number>,
  columns: ReadonlyMap<string, { col: number; idf: number }>,
  spec: Pick<TextAnalyzer, "tf" | "norm">,
  out: Float32Array | Float64Array,
  offset: number,
): number {
  let found = 0;
  let sumSquares = 0;
  const hits: Array<{ col: number; w: number }> = [];
  for (const [term, count] of counts) {
    const column = columns.get(term);
    if (column === undefined) continue;
    const w = tfWeight(count, spec.tf) * column.idf;
    hits.push({ col: column.col, w });
    sumSquares += w * w;
    found++;
  }
  const scale = spec.norm === "l2" && sumSquares > 0 ? 1 / Math.sqrt(sumSquares) : 1;
  for (const { col, w } of hits) out[offset + col] = w * scale;
  return found;
}

/** The `term` encoding columns of text feature `feature`: each column's index and term, in column order. */
export function termColumns(card: Pick<ModelCard, "encoding">, feature: string): Array<{ col: number; term: string }> {
  const out: Array<{ col: number; term: string }> = [];
  card.encoding.columns.forEach((c, col) => {
    if (c.kind === "term" && c.feature === feature) out.push({ col, term: c.term });
  });
  return out;
}

/** A word's (or n-gram's) share of one prediction's logit. */
export interface TermContribution {
  term: string;
  contribution: number;
}

export interface KeywordInput {
  analyzer: Analyzer;
  text: string;
  /** the text's encoded vector (the encoder's output for it) */
  vector: ArrayLike<number>;
  /** the text feature's term columns, from `termColumns` */
  columns: ReadonlyArray<{ col: number; term: string }>;
  /** the linear explainer's coefficients and column means */
  coefficients: ArrayLike<number>;
  columnMeans: ArrayLike<number>;
  limit: number;
}

/**
 * Keywords of one prediction of a linear text model: each term present in the text contributes
 * `coefficient × (x − column mean)` to the logit (the linear explainer's definition). A lexicon
 * term ("afinn:-3") is not a word of the text, so its contribution is shared equally among the
 * occurrences of the words that produced it ("terrible"), which may themselves be outside the
 * vocabulary. Returns the terms pushing towards the positive class and those pushing towards the
 * negative class, each strongest first.
 */
export function textKeywords(input: KeywordInput): { positive: TermContribution[]; negative: TermContribution[] } {
  const { analyzer, vector, columns, coefficients, columnMeans } = input;
  const totals = new Map<string, number>();
  const credit = (term: string, c: number) => totals.set(term, (totals.get(term) ?? 0) + c);
  const lexiconPrefix = analyzer.spec.lexicon?.prefix;
  const lexiconContribution = new Map<string, number>();
  for (const { col, term } of columns) {
    const x = vector[col]!;
    if (x === 0) continue;
    const c = coefficients[col]! * (x - columnMeans[col]!);
    if (lexiconPrefix !== undefined && term.startsWith(lexiconPrefix)) lexiconContribution.set(term, c);
    else credit(term, c);
  }
  if (lexiconContribution.size > 0) {
    const producers = new Map<string, string[]>();
    for (const clause of analyzer.tokens(input.text)) {
      for (const token of clause) {
        const term = analyzer.lexiconTerm(token);
        if (term === undefined || !lexiconContribution.has(term)) continue;
        let words = producers.get(term);
        if (!words) producers.set(term, (words = []));
        words.push(token);
      }
    }
    for (const [term, words] of producers) for (const word of words) credit(word, lexiconContribution.get(term)! / words.length);
  }
  const all = [...totals].map(([term, contribution]) => ({ term, contribution }));
  const byMagnitude = (a: TermContribution, b: TermContribution) => Math.abs(b.contribution) - Math.abs(a.contribution) || compareTerms(a.term, b.term);
  return {
    positive: all.filter((c) => c.contribution > 0).sort(byMagnitude).slice(0, input.limit),
    negative: all.filter((c) => c.contribution < 0).sort(byMagnitude).slice(0, input.limit),
  };
}

/** One paragraph describing an analyzer for a card's notes or a README. */
export function describeAnalyzer(spec: TextAnalyzer, vocabularySize: number): string {
  const parts = [
    `Text is read by ${spec.algorithm}: Unicode ${spec.normalization} normalisation${spec.lowercase ? ", lowercased" : ""}` +
      (spec.apostrophes ? `, apostrophe variants (${[...spec.apostrophes].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`).join(" ")}) folded to '` : "") +
      `; tokens are matches of /${spec.token_pattern}/u and clauses end at /${spec.boundary_pattern}/u.`,
    spec.negation
      ? `Negation: after a cue (${spec.negation.words.length} words such as "not", "no", "never", or a token ending in ${spec.negation.suffixes.map((s) => `"${s}"`).join(", ")}), the next ${spec.negation.scope} tokens of the clause are prefixed "${spec.negation.prefix}".`
      : "No negation handling.",
    spec.lexicon
      ? `Lexicon: each token found in ${spec.lexicon.name} (${Object.keys(spec.lexicon.terms).length} single-word entries, ${spec.lexicon.license}) also yields the term "${spec.lexicon.prefix}±<valence>", the sign flipped when the token is negated.`
      : "",
    `Terms: ${spec.ngram_range[0] === spec.ngram_range[1] ? `${spec.ngram_range[0]}-grams` : `${spec.ngram_range[0]}- to ${spec.ngram_range[1]}-grams`} within a clause` +
      `; vocabulary of ${vocabularySize} terms seen in at least ${spec.vocabulary.min_df} of the ${spec.vocabulary.documents} training documents` +
      (spec.vocabulary.max_terms ? ` (at most ${spec.vocabulary.max_terms}, most frequent first)` : "") +
      `; weight = ${spec.tf === "binary" ? "1 if present" : spec.tf === "count" ? "count" : "1 + ln(count)"} × idf, idf = ${spec.vocabulary.idf}` +
      `${spec.norm === "l2" ? "; the vector is L2-normalised" : ""}. Terms outside the vocabulary are ignored.`,
  ];
  return parts.filter((p) => p !== "").join(" ");
}

/** Code-unit order, the same on every machine (no locale). */
export function compareTerms(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function escapeClass(chars: string): string {
  return chars.replace(/[\\\]^-]/g, (c) => `\\${c}`);
}
