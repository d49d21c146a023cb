// The V8 flags of a platform process, by the roles it runs. Plain JavaScript: the start command
// (src/launch.mjs) needs it before anything is installed; the bench starts its platform processes
// with the same flags.
//
// A process that runs pipelines and no API gets a young generation of up to 64 MB per semi-space
// instead of V8's 16: a pipeline batch's thousands of short-lived objects then die young instead of
// being copied and promoted (in nine alternating bench pairs the recommendations and lead pipelines
// drained faster with it in every one). A process that serves the API keeps V8's default: there
// each scavenge of the larger young generation stopped the event loop 5–13 ms instead of about 3,
// which at a paced 1,000 sync requests a second was a large part of the p99 (README, "Choices").

/**
 * @param {string | undefined} role the process's ROLE (default all)
 * @returns {string[]}
 */
export function platformNodeFlags(role = "all") {
  const parts = role.split(",").map((part) => part.trim());
  return parts.includes("all") || parts.includes("api") ? [] : ["--max-semi-space-size=64"];
}
