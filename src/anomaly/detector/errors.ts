/** A detector setting is out of range; the message says which and why. */
export class DetectorConfigError extends Error {
  override name = "DetectorConfigError";
}

/**
 * A point the detector cannot take (a value that is not a finite number, an invalid timestamp)
 * or a stored value that is not a detector state. Retrying will not help; a
 * pipeline should terminate the message.
 */
export class DetectorInputError extends Error {
  override name = "DetectorInputError";
}
