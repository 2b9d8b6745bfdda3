/** The live dashboard: a feed sampled from the session layer, the page's assets, and the socket streamer. */
export { DashboardFeed, type DashboardFrame, type DashboardFeedOptions, type DashboardSessionRow, type DashboardSource } from './feed.js';
export { dashboardAsset, type DashboardAsset } from './assets.js';
export { streamDashboard } from './socket.js';
