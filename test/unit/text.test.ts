import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TextAnalyzerSchema } from "../../src/models/card.ts";
import {
  compileAnalyzer,
  defaultAnalyzer,
  describeAnalyzer,
  fitVocabulary,
  termColumns,
  TextAnalyzerError,
  textKeywords,
  tfWeight,
  writeTfidf,
} from "../../src/models/text.ts";

const LEXICON = { name: "tiny", source: "test", license: "none", prefix: "lex:", terms: { good: 3, bad: -3, great: 3, meh: 0 } };

describe("text analyzer: tokens", () => {
  const analyzer = compileAnalyzer(defaultAnalyzer());

  it("lowercases, splits on punctuation and keeps inner apostrophes", () => {
    assert.deepEqual(analyzer.tokens("Great PHONE, works well"), [["great", "phone"], ["works", "well"]]);
    assert.deepEqual(analyzer.tokens("A slow-moving film (1999)"), [["a", "slow", "moving", "film"], ["1999"]]);
    assert.deepEqual(analyzer.tokens("o'clock rock'n'roll"), [["o'clock", "rock'n'roll"]]);
    assert.deepEqual(analyzer.tokens("'quoted' words"), [["quoted", "words"]]);
  });

  it("applies NFKC and folds apostrophe variants before matching", () => {
    // full-width letters become ASCII; U+2019 becomes ' so "didn’t" is the token "didn't"
    assert.deepEqual(analyzer.tokens("\uff27\uff32\uff25\uff21\uff34"), [["great"]]);
    assert.deepEqual(analyzer.tokens("I didn\u2019t"), [["i", "didn't"]]);
    assert.deepEqual(analyzer.tokens("Caf\u0065\u0301 caf\u00e9"), [["caf\u00e9", "caf\u00e9"]], "NFKC composes e + combining acute");
  });

  it("keeps letters of any script and digits, drops emoji and symbols", () => {
    assert.deepEqual(analyzer.tokens("très bien 👍 10/10 ☆"), [["très", "bien", "10", "10"]]);
    assert.deepEqual(analyzer.tokens("日本語 テスト"), [["日本語", "テスト"]]);
    assert.deepEqual(analyzer.tokens("  \n\t "), []);
    assert.deepEqual(analyzer.tokens("!!! ..."), []);
  });

  it("marks the next 3 tokens of the clause after a negation cue", () => {
    assert.deepEqual(analyzer.tokens("this is not good at all really"), [["this", "is", "not", "not_good", "not_at", "not_all", "really"]]);
    // the scope ends at a clause boundary
    assert.deepEqual(analyzer.tokens("not good. great"), [["not", "not_good"], ["great"]]);
    // n't suffix, apostrophe-less contractions, "never"
    assert.deepEqual(analyzer.tokens("wasn't great"), [["wasn't", "not_great"]]);
    assert.deepEqual(analyzer.tokens("dont like, never again"), [["dont", "not_like"], ["never", "not_again"]]);
    // a second cue restarts the scope
    assert.deepEqual(analyzer.tokens("no no way"), [["no", "not_no", "not_way"]]);
  });

  it("has no negation marking when the analyzer has none", () => {
    assert.deepEqual(compileAnalyzer(defaultAnalyzer({ negation: false })).tokens("not good"), [["not", "good"]]);
  });
});

describe("text analyzer: terms", () => {
  it("counts unigrams and bigrams within a clause", () => {
    const terms = compileAnalyzer(defaultAnalyzer()).terms("good food, good food");
    assert.deepEqual(Object.fromEntries(terms), { good: 2, food: 2, "good food": 2 });
  });

  it("emits one lexicon term per hit, sign flipped under negation, zero scores ignored", () => {
    const analyzer = compileAnalyzer(defaultAnalyzer({ ngramMax: 1, lexicon: LEXICON }));
    assert.deepEqual(Object.fromEntries(analyzer.terms("good, not good, bad meh")), {
      good: 1,
      not: 1,
      not_good: 1,
      bad: 1,
      meh: 1,
      "lex:+3": 1,
      "lex:-3": 2,
    });
    assert.equal(analyzer.lexiconTerm("great"), "lex:+3");
    assert.equal(analyzer.lexiconTerm("not_great"), "lex:-3");
    assert.equal(analyzer.lexiconTerm("meh"), undefined);
    assert.equal(analyzer.lexiconTerm("phone"), undefined);
  });

  it("rejects analyzers it cannot run", () => {
    const base = defaultAnalyzer();
    assert.throws(() => compileAnalyzer({ ...base, token_pattern: "(" }), TextAnalyzerError);
    assert.throws(() => compileAnalyzer({ ...base, token_pattern: "a*" }), /empty string/);
    assert.throws(() => compileAnalyzer({ ...base, ngram_range: [2, 1] }), TextAnalyzerError);
    assert.throws(() => compileAnalyzer({ ...base, algorithm: "other/9" as "tidecast-text/1" }), /unknown text algorithm/);
  });

  it("is a valid card analyzer, described in one paragraph", () => {
    const spec = TextAnalyzerSchema.parse(defaultAnalyzer({ lexicon: LEXICON }));
    const text = describeAnalyzer(spec, 42);
    assert.match(text, /NFKC/);
    assert.match(text, /"not_"/);
    assert.match(text, /vocabulary of 42 terms/);
    assert.match(text, /tiny \(4 single-word entries/);
  });
});

describe("vocabulary and TF-IDF", () => {
  const analyzer = compileAnalyzer(defaultAnalyzer({ ngramMax: 1, negation: false }));
  const docs = ["good good phone", "bad phone", "good battery"].map((t) => analyzer.terms(t));

  it("keeps terms with document frequency ≥ min_df, sorted, with smooth idf", () => {
    const v = fitVocabulary(docs, { minDf: 2 });
    assert.deepEqual(v.terms, ["good", "phone"]);
    assert.deepEqual(v.df, [2, 2]);
    assert.equal(v.documents, 3);
    assert.ok(Math.abs(v.idf[0]! - (Math.log(4 / 3) + 1)) < 1e-12);
    const all = fitVocabulary(docs, { minDf: 1 });
    assert.deepEqual(all.terms, ["bad", "battery", "good", "phone"]);
    assert.ok(all.idf[0]! > all.idf[2]!, "rarer terms weigh more");
    assert.deepEqual(fitVocabulary(docs, { minDf: 1, maxTerms: 2 }).terms, ["good", "phone"], "most frequent kept");
  });

  it("writes tf × idf, L2-normalised over the known terms; unknown terms are ignored", () => {
    const columns = new Map([
      ["good", { col: 0, idf: 2 }],
      ["phone", { col: 2, idf: 1 }],
    ]);
    const out = new Float32Array(4);
    const found = writeTfidf(analyzer.terms("good good phone case"), columns, { tf: "count", norm: "l2" }, out, 0);
    assert.equal(found, 2);
    // good: 2 × 2 = 4, phone: 1 × 1 = 1, norm √17
    assert.ok(Math.abs(out[0]! - 4 / Math.sqrt(17)) < 1e-6);
    assert.ok(Math.abs(out[2]! - 1 / Math.sqrt(17)) < 1e-6);
    assert.equal(out[1], 0);
    const binary = new Float64Array(3);
    writeTfidf(analyzer.terms("good good phone"), columns, { tf: "binary", norm: "none" }, binary, 0);
    assert.deepEqual([...binary], [2, 0, 1]);
    const none = new Float32Array(4).fill(7);
    assert.equal(writeTfidf(analyzer.terms("nothing known"), columns, { tf: "binary", norm: "l2" }, none, 0), 0);
    assert.deepEqual([...none], [7, 7, 7, 7], "untouched when no term is known");
    assert.equal(tfWeight(3, "log"), 1 + Math.log(3));
  });
});

describe("textKeywords", () => {
  const spec = defaultAnalyzer({ ngramMax: 1, lexicon: LEXICON });
  const analyzer = compileAnalyzer(spec);
  const card = {
    encoding: {
      input_name: "x",
      columns: [
        { kind: "term" as const, feature: "text", term: "lex:+3", idf: 1 },
        { kind: "term" as const, feature: "text", term: "lex:-3", idf: 1 },
        { kind: "term" as const, feature: "text", term: "phone", idf: 1 },
        { kind: "term" as const, feature: "text", term: "screen", idf: 1 },
        { kind: "numeric" as const, feature: "other" },
      ],
    },
  };

  it("lists the term columns of one feature", () => {
    assert.deepEqual(termColumns(card, "text").map((c) => c.col), [0, 1, 2, 3]);
    assert.deepEqual(termColumns(card, "other"), []);
  });

  it("ranks present terms by contribution and credits lexicon terms to the words behind them", () => {
    // vector as if "great great phone, bad" → lex:+3 (2 hits), lex:-3, phone
    const vector = [0.6, 0.3, 0.5, 0, 9];
    const result = textKeywords({
      analyzer,
      text: "Great great phone, bad",
      vector,
      columns: termColumns(card, "text"),
      coefficients: [2, -3, -0.2, 5, 1],
      columnMeans: [0.1, 0.1, 0, 0, 0],
      limit: 5,
    });
    // lex:+3: 2 × (0.6 − 0.1) = 1.0, shared by the two "great" → 1.0 in all; lex:-3: −3 × (0.3 − 0.1) = −0.6 → "bad"
    assert.deepEqual(result.positive.map((c) => c.term), ["great"]);
    assert.ok(Math.abs(result.positive[0]!.contribution - 1.0) < 1e-12);
    assert.deepEqual(result.negative.map((c) => c.term), ["bad", "phone"]);
    assert.ok(Math.abs(result.negative[0]!.contribution + 0.6) < 1e-12);
    assert.ok(!result.positive.some((c) => c.term === "screen"), "absent terms are not keywords");
  });
});
