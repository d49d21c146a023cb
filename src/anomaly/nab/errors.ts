/** NAB inputs that cannot be scored: mismatched lengths, window limits missing from a file, bad profiles. */
export class NabError extends Error {
  override name = "NabError";
}
