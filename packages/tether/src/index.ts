/** Tether's public surface. Each part has its own entry point as well (`tether/database`, …);
 * the session layer is the package `@tether/sessions`, re-exported here. */
export * from './database/index.js';
export { TetherError, ConfigurationError } from './errors.js';
export * from '@tether/sessions';
