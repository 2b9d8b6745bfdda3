// Tether dashboard client: signs in, subscribes to /dashboard/ws and renders each frame. Plain browser
// JavaScript modules, no build step: charts.js, sessions-table.js, events.js and format.js beside this file.
import { drawCharts, record, resizeCharts } from './charts.js';
import { renderEvents } from './events.js';
import { $, clock, fmt } from './format.js';
import { queueTable, showTable } from './sessions-table.js';

const TOKEN_KEY = 'tether.dashboard.token';
const CHART_EVERY_MS = 500;
const TABLE_EVERY_MS = 400;

const state = { socket: null, retry: null, lastChart: 0, lastTable: 0 };

function setStatus(text, kind) {
  const el = $('connection');
  el.textContent = text;
  el.dataset.state = kind;
}

function showLogin(message) {
  $('login').hidden = false;
  $('board').hidden = true;
  $('logout').hidden = true;
  $('login-error').textContent = message || '';
  $('email').focus();
}

function showBoard() {
  $('login').hidden = true;
  $('board').hidden = false;
  $('logout').hidden = false;
}

async function signIn(event) {
  event.preventDefault();
  $('login-error').textContent = '';
  try {
    const response = await fetch('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: $('email').value, password: $('password').value }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      $('login-error').textContent = (body.error && body.error.message) || `Sign-in failed (${response.status})`;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, body.accessToken);
    $('password').value = '';
    connect();
  } catch {
    $('login-error').textContent = 'The server could not be reached.';
  }
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.socket) state.socket.close(1000);
  showLogin('');
  setStatus('Signed out', 'down');
}

function connect() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return showLogin('');
  clearTimeout(state.retry);
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/dashboard/ws`;
  const socket = new WebSocket(url, ['bearer', token]);
  state.socket = socket;
  setStatus('Connecting…', 'connecting');
  socket.onopen = () => {
    showBoard();
    drawCharts(); // empty charts, built one per task before the first frame arrives
    setStatus('Live', 'live');
  };
  socket.onmessage = (message) => {
    try {
      render(JSON.parse(message.data));
    } catch (error) {
      console.error('bad frame', error);
    }
  };
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (event.code === 4401 || event.code === 4403) {
      sessionStorage.removeItem(TOKEN_KEY);
      setStatus('Not connected', 'down');
      return showLogin(
        event.code === 4403 ? 'This account is not an administrator.' : 'Your session has ended; sign in again.',
      );
    }
    if (event.code === 1000) return;
    setStatus('Connection lost, reconnecting…', 'down');
    state.retry = setTimeout(connect, 1_000);
  };
}

function renderDatabase(database) {
  const banner = $('database-banner');
  const down = Boolean(database && database.status === 'down');
  if (banner.hidden === !down && (!down || banner.dataset.since === String(database.since))) return;
  banner.hidden = !down;
  if (!down) return;
  banner.dataset.since = String(database.since);
  banner.textContent =
    `The database is unreachable since ${clock(database.since)} (${database.reason || 'no answer'}): ` +
    'requests are answered 503 with Retry-After until it is back. The figures here stay live.';
}

function render(frame) {
  if (frame.type !== 'snapshot') return;
  const p = frame.pool;
  for (const el of document.querySelectorAll('[data-metric]')) el.textContent = fmt(p[el.dataset.metric]);
  const breaker = $('breaker');
  breaker.textContent = p.breakerState.replace('_', '-');
  breaker.dataset.state = p.breakerState;
  const meter = $('pool-meter');
  meter.max = p.max;
  meter.value = p.active;
  meter.textContent = `${p.active} of ${p.max}`;
  $('pool-meter-figures').textContent =
    `${fmt(p.active)} of ${fmt(p.max)} (${fmt(p.max ? (100 * p.active) / p.max : 0)} %)`;
  $('now-sessions').textContent = `now ${fmt(frame.rates.sessionsPerSec, 1)}/s`;
  const levels = frame.rates.errorLevels || {};
  let alarms = 0;
  let callers = 0;
  for (const [code, n] of Object.entries(frame.rates.errorsPerSec)) {
    if (levels[code] === 'info') callers += n;
    else alarms += n;
  }
  $('now-errors').textContent = `now ${fmt(alarms, 1)}/s${callers ? ` (and ${fmt(callers, 1)}/s callers' own)` : ''}`;
  $('now-acquire').textContent = `p50 ${fmt(frame.acquire.p50Ms, 2)} · p99 ${fmt(frame.acquire.p99Ms, 2)}`;
  const http = frame.rates.httpPerSec || {};
  for (const el of document.querySelectorAll('[data-http]')) el.textContent = fmt(http[el.dataset.http], 1);
  const ws = frame.websocket || { connections: NaN, subscriptions: NaN };
  $('ws-connections').textContent = fmt(ws.connections);
  $('ws-subscriptions').textContent = fmt(ws.subscriptions);
  $('ws-frames').textContent = fmt(frame.rates.wsFramesPerSec, 1);
  renderDatabase(frame.database);
  for (const sample of frame.history || []) record(sample);
  record(frame);
  renderEvents(frame);
  const now = performance.now();
  if (now - state.lastTable > TABLE_EVERY_MS) {
    state.lastTable = now;
    showTable(frame);
  }
  if (now - state.lastChart > CHART_EVERY_MS) {
    state.lastChart = now;
    drawCharts();
  }
}

$('login-form').addEventListener('submit', signIn);
$('logout').addEventListener('click', signOut);
$('sessions-wrap').addEventListener('scroll', queueTable, { passive: true });
window.addEventListener('resize', resizeCharts);
connect();
