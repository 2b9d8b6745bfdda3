/** The live dashboard: a feed sampled from the session layer, the page's assets, and the socket streamer. */
export {
  DashboardFeed,
  type DashboardEvent,
  type DashboardFrame,
  type DashboardFeedOptions,
  type DashboardSample,
  type DashboardSessionRow,
  type DashboardSource,
  type ErrorLevel,
} from './feed.js';
export { type DatabaseStatus } from './database-status.js';
export { STATUS_CLASSES, type StatusClass, type TrafficTotals } from './traffic.js';
export { UserEmails, type EmailLookup, type UserEmailsOptions } from './user-emails.js';
export { dashboardAsset, type DashboardAsset } from './assets.js';
export { streamDashboard } from './socket.js';
