export { getCustomer, listHighRisk, riskDistribution, topFactors } from "./queries.ts";
export type { CustomerDetails, CustomerSummary, DistributionBucket, FactorShare, HighRiskPage, HighRiskQuery, ScoreRecord } from "./queries.ts";
export { recommendationReader } from "./recommendations.ts";
export type { CustomerRecommendations, RecommendedItem } from "./recommendations.ts";
export { churnOverview } from "./overview.ts";
export type { ChurnOverview } from "./overview.ts";
