import type { WebSocket } from 'ws';
import type { DashboardFeed } from './feed.js';

/** A slow watcher skips frames rather than growing the server's memory. */
const MAX_BUFFERED_BYTES = 1 << 20;

/** Streams the feed's frames to one authenticated admin socket until it closes. */
export function streamDashboard(socket: WebSocket, feed: DashboardFeed): void {
  const stop = feed.subscribe((frame) => {
    if (socket.readyState !== socket.OPEN || socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
    socket.send(JSON.stringify(frame));
  });
  socket.once('close', stop);
  socket.once('error', stop);
  // the dashboard only listens; anything it sends is ignored
  socket.on('message', () => {});
}
