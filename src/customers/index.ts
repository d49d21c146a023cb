export { getCustomer, listHighRisk, riskDistribution, topFactors } from "./queries.ts";
export type { CustomerDetails, CustomerSummary, DistributionBucket, FactorShare, HighRiskPage, HighRiskQuery, ScoreRecord } from "./queries.ts";
export { presentRecommendations, recommendationReader } from "./recommendations.ts";
export type { CustomerRecommendations, RecommendedItem } from "./recommendations.ts";
export { churnOverview, latestScores, riskSegments } from "./overview.ts";
export type { ChurnOverview, LatestScore, RiskSegment } from "./overview.ts";
