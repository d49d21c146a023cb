/**
 * What `POST /api/predict/sentiment` (seed 000, routed in seed-predict.ts) answers for `{text}`:
 * sentiment, confidence, score in −1..1 and keywords. The text is scored like every REST
 * prediction; the keywords are then read off the scoring model's own card for that text (see
 * `sentimentPrediction`).
 *
 * No `emotions`: the model is trained on positive/negative labels only and the one lexicon it has,
 * AFINN-165, is a valence list (how positive or negative a word is), not an emotion lexicon, so
 * there is nothing honest to compute joy, anger, fear, sadness or surprise from. The field is left
 * out rather than filled with numbers that mean nothing.
 */
import type { Encoder, ModelCard } from "../../models/index.ts";
import { compileAnalyzer, termColumns, textKeywords, type Analyzer } from "../../models/text.ts";
import { z } from "../openapi-zod.ts";

export const SENTIMENT_MODEL = "sentiment";

/** keywords returned per prediction */
export const KEYWORDS = 5;
const TEXT_FEATURE = "text";
const DEFAULT_MAX_TEXT = 10_000;

export type Sentiment = "positive" | "negative" | "neutral";

export interface SentimentPrediction {
  sentiment: Sentiment;
  /** probability of the more likely polarity, max(p, 1 − p) */
  confidence: number;
  /** 2p − 1: −1 certainly negative … 1 certainly positive */
  score: number;
  /** the text's terms that pushed the score most towards the answer, strongest first */
  keywords: string[];
}

/**
 * "positive" / "negative" by P(positive) against the card's threshold, the decision `/api/v1/predict`
 * labels with and the card's accuracy measures; "neutral" when not one term of the text is in the
 * model's vocabulary (`hasEvidence` false: the probability is the model's prior, nothing to go on).
 * The model learnt two classes only, so it has no sign of neutral text beyond that: an uncertain
 * answer shows in `confidence` near 0.5. Calling it "neutral" would not find neutral texts; it would
 * turn the model's least certain answers, half of them right, into wrong ones.
 */
export function sentimentLabel(probability: number, threshold: number, hasEvidence = true): Sentiment {
  if (!hasEvidence) return "neutral";
  return probability >= threshold ? "positive" : "negative";
}

interface TextParts {
  analyzer: Analyzer;
  columns: Array<{ col: number; term: string }>;
}
/** per card (cards are immutable once loaded): the compiled analyzer and the term columns */
const partsByCard = new WeakMap<ModelCard, TextParts | null>();

function textParts(card: ModelCard): TextParts | null {
  let parts = partsByCard.get(card);
  if (parts === undefined) {
    const analyzer = card.features.find((f) => f.name === TEXT_FEATURE)?.analyzer;
    parts = analyzer ? { analyzer: compileAnalyzer(analyzer), columns: termColumns(card, TEXT_FEATURE) } : null;
    partsByCard.set(card, parts);
  }
  return parts;
}

/**
 * Seed 000's `prediction` for a text and the probability the scorer returned. Keywords: the text is
 * encoded again with the model's encoder and each present term's contribution to the logit,
 * `coefficient × (x − column mean)` (the linear explainer's definition), is ranked (`textKeywords`:
 * an AFINN valence term's share goes to the words that produced it). A positive answer lists the
 * terms pushing towards positive, a negative one those pushing towards negative; a neutral one has
 * no known term, so none. Negated words appear with their marker (`not_good`).
 */
export function sentimentPrediction(model: { card: ModelCard; encoder: Encoder }, text: string, probability: number): SentimentPrediction {
  const { card } = model;
  const threshold = card.threshold ?? 0.5;
  const strength = { confidence: confidenceOf(probability), score: scoreOf(probability) };
  const explainer = card.explainer;
  const encoded = model.encoder({ [TEXT_FEATURE]: text });
  const parts = textParts(card);
  if (!encoded.ok || !parts || explainer?.kind !== "linear") return { sentiment: sentimentLabel(probability, threshold), ...strength, keywords: [] };
  const hasEvidence = parts.columns.some(({ col }) => encoded.vector[col] !== 0);
  const sentiment = sentimentLabel(probability, threshold, hasEvidence);
  if (sentiment === "neutral") return { sentiment, ...strength, keywords: [] };
  const { positive, negative } = textKeywords({
    analyzer: parts.analyzer,
    text,
    vector: encoded.vector,
    columns: parts.columns,
    coefficients: explainer.coefficients,
    columnMeans: explainer.column_means,
    limit: KEYWORDS,
  });
  return { sentiment, ...strength, keywords: (sentiment === "positive" ? positive : negative).map((c) => c.term) };
}

export const SentimentPredictionSchema = z.object({
  sentiment: z.enum(["positive", "negative", "neutral"]),
  confidence: z.number().describe("probability of the more likely polarity"),
  score: z.number().min(-1).max(1).describe("2 × P(positive) − 1"),
  keywords: z.array(z.string()),
});

/** Seed 000's body: the text alone, as long as the card's text feature allows. */
export function sentimentBody(card: ModelCard) {
  const maxLength = card.features.find((f) => f.name === TEXT_FEATURE)?.max_length ?? DEFAULT_MAX_TEXT;
  return z.strictObject({ text: z.string().min(1).max(maxLength).describe(`text to analyse, 1 to ${maxLength} characters`) });
}

const confidenceOf = (p: number) => round(Math.max(p, 1 - p), 4);
const scoreOf = (p: number) => round(2 * p - 1, 4);

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
