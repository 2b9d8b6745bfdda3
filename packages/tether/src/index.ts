/** Tether's public surface. Each part has its own entry point as well (`tether/database`, `tether/sessions`). */
export * from './database/index.js';
export { TetherError, ConfigurationError } from './errors.js';
export * from './sessions/index.js';
