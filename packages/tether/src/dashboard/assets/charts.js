// The dashboard's five charts (uPlot, loaded before this module as a global): the last five minutes of samples.
/* global uPlot */
import { $ } from './format.js';

const HISTORY_MS = 5 * 60_000;
const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'];
const PALETTE = ['#b00020', '#8a5300', '#6a1b9a', '#00695c', '#1f4fd1', '#37474f'];

const series = {
  times: [],
  sessions: [],
  p50: [],
  p99: [],
  http: new Map(STATUS_CLASSES.map((c) => [c, []])),
  wsConnections: [],
  errors: new Map(), // code → values aligned with times
  errorLevels: new Map(), // code → 'info' | 'warn' | 'error'
};
const charts = {};
const drawn = { errorCodes: [], errorsKey: '', queued: false, width: 0 };

/** One sample (a frame, or a point of the history the server sends first) onto the charts' series. */
export function record(sample) {
  const t = sample.at / 1_000;
  const times = series.times;
  if (times.length && t <= times[times.length - 1]) return; // already drawn
  times.push(t);
  series.sessions.push(sample.rates.sessionsPerSec);
  series.p50.push(sample.acquire.p50Ms);
  series.p99.push(sample.acquire.p99Ms);
  const http = sample.rates.httpPerSec || {};
  for (const [statusClass, values] of series.http) values.push(http[statusClass] || 0);
  series.wsConnections.push(sample.websocket ? sample.websocket.connections : 0);
  for (const [code, level] of Object.entries(sample.rates.errorLevels || {})) series.errorLevels.set(code, level);
  for (const code of Object.keys(sample.rates.errorsPerSec)) {
    if (!series.errors.has(code))
      series.errors.set(
        code,
        times.slice(0, -1).map(() => 0),
      );
  }
  for (const [code, values] of series.errors) values.push(sample.rates.errorsPerSec[code] || 0);
  const cutoff = t - HISTORY_MS / 1_000;
  let drop = 0;
  while (drop < times.length && times[drop] < cutoff) drop++;
  if (drop) {
    const { sessions, p50, p99, wsConnections, http: byClass, errors } = series;
    const lists = [times, sessions, p50, p99, wsConnections, ...byClass.values(), ...errors.values()];
    for (const list of lists) list.splice(0, drop);
  }
}

const CHART_SERIES = {
  sessions: () => [{ label: 'sessions/s', stroke: '#1f4fd1', width: 2, fill: 'rgba(31,79,209,0.08)' }],
  acquire: () => [
    { label: 'p50', stroke: '#0b6b2f', width: 2 },
    { label: 'p99', stroke: '#b00020', width: 2 },
  ],
  http: () => [
    { label: '2xx', stroke: '#0b6b2f', width: 2 },
    { label: '3xx', stroke: '#1f4fd1', width: 2 },
    { label: '4xx', stroke: '#8a5300', width: 2 },
    { label: '5xx', stroke: '#b00020', width: 2 },
  ],
  websockets: () => [{ label: 'open', stroke: '#6a1b9a', width: 2 }],
  // a caller's own error (an RLS refusal answered 404, a constraint) is drawn grey and dashed: not an alarm
  errors: () =>
    drawn.errorCodes.length
      ? drawn.errorCodes.map((code, i) =>
          series.errorLevels.get(code) === 'info'
            ? { label: `${code} (caller's own)`, stroke: '#8a94a3', width: 1, dash: [4, 4] }
            : { label: code, stroke: PALETTE[i % PALETTE.length], width: 2 },
        )
      : [{ label: 'errors', stroke: '#b00020', width: 2 }],
};
const CHART_UNITS = { sessions: 'per s', acquire: 'ms', http: 'per s', websockets: 'connections', errors: 'per s' };
const CHART_DATA = {
  sessions: () => [series.times, series.sessions],
  acquire: () => [series.times, series.p50, series.p99],
  http: () => [series.times, ...series.http.values()],
  websockets: () => [series.times, series.wsConnections],
  errors: () => [
    series.times,
    ...(drawn.errorCodes.length ? drawn.errorCodes.map((c) => series.errors.get(c)) : [series.times.map(() => 0)]),
  ],
};

function makeChart(id, lines, yLabel) {
  const el = $(id);
  // the charts share one grid column width: measured once (a forced layout), not once per chart
  drawn.width ||= Math.max(300, el.clientWidth || 400);
  return new uPlot(
    {
      width: drawn.width,
      height: 180,
      series: [{}, ...lines],
      axes: [{}, { label: yLabel, size: 50 }],
      scales: { x: { time: true } },
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    },
    [[], ...lines.map(() => [])],
    el,
  );
}

function drawChart(id) {
  if (id === 'errors') {
    const codes = [...series.errors.keys()].sort();
    const key = codes.map((c) => `${c}:${series.errorLevels.get(c)}`).join();
    if (charts.errors && key !== drawn.errorsKey) {
      charts.errors.destroy();
      delete charts.errors;
      $('chart-errors').textContent = '';
    }
    drawn.errorCodes = codes;
    drawn.errorsKey = key;
  }
  charts[id] ??= makeChart(`chart-${id}`, CHART_SERIES[id](), CHART_UNITS[id]);
  charts[id].setData(CHART_DATA[id]());
  $(`chart-${id}`).dataset.points = String(series.times.length);
}

/** Each chart is drawn in a task of its own: five charts never add up to one long task. */
export function drawCharts() {
  if (drawn.queued) return;
  drawn.queued = true;
  const ids = Object.keys(CHART_SERIES);
  const next = () => {
    const id = ids.shift();
    if (id === undefined) {
      drawn.queued = false;
      return;
    }
    drawChart(id);
    setTimeout(next, 0);
  };
  setTimeout(next, 0);
}

/** The window changed size: every chart takes its column's new width. */
export function resizeCharts() {
  drawn.width = 0;
  for (const [id, chart] of Object.entries(charts))
    chart.setSize({ width: Math.max(300, $(`chart-${id}`).clientWidth), height: 180 });
}
