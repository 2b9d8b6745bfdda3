/** The `application_name` prefix of server instances' listener connections. */
export const LISTENER_APPLICATION_PREFIX = 'tether-listener:';

/** The `application_name` of the listener connection of server instance `instanceId`. */
export function listenerApplicationName(instanceId: string): string {
  return `${LISTENER_APPLICATION_PREFIX}${instanceId}`;
}
