/** `/ws`: the WebSocket hub and what the dashboard's socket shares with it (close codes, the upgrade's token). */
export { WebSocketHub, type WebSocketHubOptions } from './hub.js';
export { MAX_FRAMES_IN_FLIGHT } from './frame-handler.js';
export {
  CLOSE_GOING_AWAY,
  CLOSE_TOO_MANY,
  CLOSE_TRY_AGAIN,
  CLOSE_UNAUTHORIZED,
  refuseUpgrade,
  websocketToken,
} from './upgrade.js';
export {
  CLIENT_FRAME_TYPES,
  clientFrameSchemas,
  serverFrameSchemas,
  messageSchema,
  type ClientFrame,
} from './frames.js';
