/**
 * The root of every error Tether raises on purpose. `code` is stable and public: HTTP error bodies,
 * WebSocket error frames, metrics labels and logs all carry it.
 */
export abstract class TetherError extends Error {
  abstract readonly code: string;
  /** Whether a client may retry the same call later (maps to 503 + Retry-After). */
  readonly retryable: boolean = false;
  /** Whether the caller's own request caused it (absent, malformed, refused): logged at `info`, never `error`. */
  readonly callersFault: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value that cannot work: bad port, unwritable directory, malformed URL. */
export class ConfigurationError extends TetherError {
  readonly code = 'configuration_error';
}
