/** HTTP status classes, as the dashboard shows them. */
export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** What the server counted since it started (the feed turns counts into rates) and its WebSocket gauges. */
export interface TrafficTotals {
  readonly http: Readonly<Record<StatusClass, number>>;
  readonly websocket: {
    readonly connections: number;
    readonly subscriptions: number;
    readonly framesReceived: number;
    readonly framesDelivered: number;
  };
}

export const NO_TRAFFIC: TrafficTotals = {
  http: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
  websocket: { connections: 0, subscriptions: 0, framesReceived: 0, framesDelivered: 0 },
};
