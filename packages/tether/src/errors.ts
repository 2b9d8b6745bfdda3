import { TetherError } from '@tether/sessions';

/** The root of every typed error, defined by the session layer (the service's errors extend it too). */
export { TetherError };

/** A configuration value that cannot work: bad port, unwritable directory, malformed URL. */
export class ConfigurationError extends TetherError {
  readonly code = 'configuration_error';
}
