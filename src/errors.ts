/**
 * Typed errors. Each kind has its own class with `name` set so callers switch on the class, never
 * on message text. HTTP errors carry their status and the seed error code; message errors tell a
 * consumer whether to retry.
 */
export type ErrorDetails = Record<string, unknown>;

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly status: number,
    readonly code: string,
    readonly error: string,
    message: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ValidationError extends AppError {
  override name = "ValidationError";
  constructor(message: string, details: ErrorDetails = {}) {
    super(422, "INVALID_INPUT", "Validation failed", message, details);
  }
}

export class BadRequestError extends AppError {
  override name = "BadRequestError";
  constructor(message: string, details: ErrorDetails = {}) {
    super(400, "BAD_REQUEST", "Bad request", message, details);
  }
}

export class PayloadTooLargeError extends AppError {
  override name = "PayloadTooLargeError";
  constructor(limitBytes: number) {
    super(413, "PAYLOAD_TOO_LARGE", "Payload too large", `request body exceeds ${limitBytes} bytes`, { limit_bytes: limitBytes });
  }
}

export class UnsupportedMediaTypeError extends AppError {
  override name = "UnsupportedMediaTypeError";
  constructor(expected: string) {
    super(415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type", `expected ${expected}`);
  }
}

export class AuthenticationError extends AppError {
  override name = "AuthenticationError";
  constructor(message = "Valid API key or JWT token required") {
    super(401, "AUTHENTICATION_REQUIRED", "Authentication required", message);
  }
}

export class PermissionError extends AppError {
  override name = "PermissionError";
  constructor(message = "You lack the permission for this action") {
    super(403, "INSUFFICIENT_PERMISSIONS", "Insufficient permissions", message);
  }
}

export class NotFoundError extends AppError {
  override name = "NotFoundError";
  constructor(message: string, details: ErrorDetails = {}) {
    super(404, "NOT_FOUND", "Not found", message, details);
  }
}

export class ModelNotFoundError extends AppError {
  override name = "ModelNotFoundError";
  constructor(model: string) {
    super(404, "MODEL_NOT_FOUND", "Model not found", `Model with ID '${model}' not found`, { model_id: model });
  }
}

export class ConflictError extends AppError {
  override name = "ConflictError";
  constructor(message: string, details: ErrorDetails = {}) {
    super(409, "CONFLICT", "Conflict", message, details);
  }
}

export class InsufficientCreditsError extends AppError {
  override name = "InsufficientCreditsError";
  constructor(needed: number, remaining: number) {
    super(402, "INSUFFICIENT_CREDITS", "Insufficient credits", "Not enough credits to complete request", { needed, remaining });
  }
}

export class RateLimitError extends AppError {
  override name = "RateLimitError";
  constructor(readonly retryAfterSeconds: number) {
    super(429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded", `Rate limit exceeded; retry in ${retryAfterSeconds}s`, {
      retry_after: retryAfterSeconds,
    });
  }
}

/** The scorer did not answer in time; the request is still in the stream and will be processed. */
export class PredictionTimeoutError extends AppError {
  override name = "PredictionTimeoutError";
  constructor(predictionId: string, timeoutMs: number) {
    super(
      504,
      "PREDICTION_TIMEOUT",
      "Prediction timed out",
      `The prediction was queued but not answered within ${timeoutMs} ms; poll /api/v1/predictions/${predictionId}`,
      { prediction_id: predictionId, poll: `/api/v1/predictions/${predictionId}` },
    );
  }
}

export class ServiceUnavailableError extends AppError {
  override name = "ServiceUnavailableError";
  constructor(message: string, details: ErrorDetails = {}) {
    super(503, "SERVICE_UNAVAILABLE", "Service unavailable", message, details);
  }
}

/** A stream message that can never be processed (bad payload); retrying will not help. */
export class InvalidMessageError extends Error {
  override name = "InvalidMessageError";
  constructor(
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}
