// Tether dashboard client: signs in, subscribes to /dashboard/ws and renders each frame.
// Plain browser JavaScript, no build step; charts by uPlot (loaded before this file).
/* global uPlot */
'use strict';

(() => {
  const TOKEN_KEY = 'tether.dashboard.token';
  const HISTORY_MS = 5 * 60_000;
  const CHART_EVERY_MS = 500;
  const TABLE_ROWS = 200;
  const $ = (id) => document.getElementById(id);

  const state = {
    socket: null,
    retry: null,
    times: [],
    sessions: [],
    errors: new Map(), // code → values aligned with times
    p50: [],
    p99: [],
    charts: {},
    errorCodes: [],
    lastChart: 0,
    lastTable: 0,
    errorEvents: [],
    leakEvents: [],
  };

  const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
  const age = (ms) => (ms < 1_000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1_000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.floor((ms % 60_000) / 1_000)} s`);
  const clock = (at) => new Date(at).toLocaleTimeString('en-GB');

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
        return showLogin(event.code === 4403 ? 'This account is not an administrator.' : 'Your session has ended; sign in again.');
      }
      if (event.code === 1000) return;
      setStatus('Connection lost, reconnecting…', 'down');
      state.retry = setTimeout(connect, 1_000);
    };
  }

  function makeChart(id, series, yLabel) {
    const el = $(id);
    const width = Math.max(300, el.clientWidth || 400);
    return new uPlot(
      {
        width,
        height: 180,
        series: [{}, ...series],
        axes: [{}, { label: yLabel, size: 50 }],
        scales: { x: { time: true } },
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
      },
      [[], ...series.map(() => [])],
      el,
    );
  }

  const PALETTE = ['#b00020', '#8a5300', '#6a1b9a', '#00695c', '#1f4fd1', '#37474f'];

  function ensureCharts() {
    if (!state.charts.sessions) state.charts.sessions = makeChart('chart-sessions', [{ label: 'sessions/s', stroke: '#1f4fd1', width: 2, fill: 'rgba(31,79,209,0.08)' }], 'per s');
    if (!state.charts.acquire) {
      state.charts.acquire = makeChart('chart-acquire', [
        { label: 'p50', stroke: '#0b6b2f', width: 2 },
        { label: 'p99', stroke: '#b00020', width: 2 },
      ], 'ms');
    }
    const codes = [...state.errors.keys()].sort();
    if (!state.charts.errors || codes.join() !== state.errorCodes.join()) {
      state.errorCodes = codes;
      if (state.charts.errors) state.charts.errors.destroy();
      $('chart-errors').textContent = '';
      const series = codes.length ? codes.map((code, i) => ({ label: code, stroke: PALETTE[i % PALETTE.length], width: 2 })) : [{ label: 'errors', stroke: '#b00020', width: 2 }];
      state.charts.errors = makeChart('chart-errors', series, 'per s');
    }
  }

  function record(frame) {
    const t = frame.at / 1_000;
    state.times.push(t);
    state.sessions.push(frame.rates.sessionsPerSec);
    state.p50.push(frame.acquire.p50Ms);
    state.p99.push(frame.acquire.p99Ms);
    for (const code of Object.keys(frame.rates.errorsPerSec)) {
      if (!state.errors.has(code)) state.errors.set(code, state.times.slice(0, -1).map(() => 0));
    }
    for (const [code, values] of state.errors) values.push(frame.rates.errorsPerSec[code] || 0);
    const cutoff = t - HISTORY_MS / 1_000;
    let drop = 0;
    while (drop < state.times.length && state.times[drop] < cutoff) drop++;
    if (drop) {
      for (const list of [state.times, state.sessions, state.p50, state.p99, ...state.errors.values()]) list.splice(0, drop);
    }
  }

  function drawCharts() {
    ensureCharts();
    state.charts.sessions.setData([state.times, state.sessions]);
    state.charts.acquire.setData([state.times, state.p50, state.p99]);
    const errorSeries = state.errorCodes.length ? state.errorCodes.map((c) => state.errors.get(c)) : [state.times.map(() => 0)];
    state.charts.errors.setData([state.times, ...errorSeries]);
  }

  function renderTable(frame) {
    const rows = frame.sessions.rows.slice(0, TABLE_ROWS);
    $('sessions-count').textContent = frame.sessions.total > rows.length ? `(${rows.length} oldest of ${fmt(frame.sessions.total)})` : `(${fmt(frame.sessions.total)})`;
    $('sessions').tBodies[0].innerHTML = rows
      .map((s) => `<tr><td>${escapeHtml(s.userId || 'anonymous')}</td><td>${escapeHtml(s.requestId)}</td><td class="num">${age(s.ageMs)}</td>` +
        `<td>${escapeHtml(s.state)}</td><td class="num">${s.queryCount}</td><td class="num${s.errorCount ? ' err' : ''}">${s.errorCount}${s.lastErrorCode ? ` (${escapeHtml(s.lastErrorCode)})` : ''}</td></tr>`)
      .join('');
  }

  function renderEvents(frame) {
    for (const event of frame.events) {
      if (event.type === 'leak' || event.type === 'unleak') {
        state.leakEvents.unshift(event);
        continue;
      }
      const entry = event.type === 'breaker'
        ? { at: event.at, code: `breaker ${event.state.replace('_', '-')}`, message: 'database circuit breaker changed state', count: 1 }
        : { at: event.at, code: event.code, message: event.message, requestId: event.requestId, count: 1 };
      // a burst of the same error (an outage) is one line with a count, not a wall of copies
      const head = state.errorEvents[0];
      if (head && head.code === entry.code && head.message === entry.message) {
        head.count++;
        head.at = entry.at;
        head.requestId = entry.requestId;
      } else {
        state.errorEvents.unshift(entry);
      }
    }
    state.errorEvents.length = Math.min(state.errorEvents.length, 50);
    state.leakEvents.length = Math.min(state.leakEvents.length, 30);
    if (!frame.events.length && $('errors').childElementCount) return;
    $('errors').innerHTML = state.errorEvents.length
      ? state.errorEvents.map((e) => `<li><time>${clock(e.at)}</time><code${e.code === 'breaker closed' ? ' class="ok"' : ''}>${escapeHtml(e.code)}</code>${e.count > 1 ? ` <strong>×${e.count}</strong>` : ''} ${escapeHtml(e.message)}${e.requestId ? ` <span class="sub">last request ${escapeHtml(e.requestId)}</span>` : ''}</li>`).join('')
      : '<li class="empty">No errors.</li>';
    $('leaks').innerHTML = state.leakEvents.length
      ? state.leakEvents.map((e) => e.type === 'leak'
        ? `<li><time>${clock(e.at)}</time><code>possible leak</code> request ${escapeHtml(e.requestId)} held ${age(e.heldMs)}${e.statement ? ` <span class="sub">running ${escapeHtml(e.statement.slice(0, 120))}</span>` : ''}${e.openedAt ? `<details><summary>Opened at</summary><pre>${escapeHtml(e.openedAt)}</pre></details>` : ''}</li>`
        : `<li><time>${clock(e.at)}</time>returned (unleaked): request ${escapeHtml(e.requestId)} after ${age(e.heldMs)}</li>`).join('')
      : '<li class="empty">No leaks.</li>';
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
    $('pool-meter-figures').textContent = `${fmt(p.active)} of ${fmt(p.max)} (${fmt(p.max ? (100 * p.active) / p.max : 0)} %)`;
    $('now-sessions').textContent = `now ${fmt(frame.rates.sessionsPerSec, 1)}/s`;
    const errorTotal = Object.values(frame.rates.errorsPerSec).reduce((a, b) => a + b, 0);
    $('now-errors').textContent = `now ${fmt(errorTotal, 1)}/s`;
    $('now-acquire').textContent = `p50 ${fmt(frame.acquire.p50Ms, 2)} · p99 ${fmt(frame.acquire.p99Ms, 2)}`;
    record(frame);
    renderEvents(frame);
    const now = performance.now();
    if (now - state.lastTable > 400) {
      state.lastTable = now;
      renderTable(frame);
    }
    if (now - state.lastChart > CHART_EVERY_MS) {
      state.lastChart = now;
      drawCharts();
    }
  }

  $('login-form').addEventListener('submit', signIn);
  $('logout').addEventListener('click', signOut);
  window.addEventListener('resize', () => {
    for (const [id, chart] of Object.entries(state.charts)) chart.setSize({ width: Math.max(300, $(`chart-${id}`).clientWidth), height: 180 });
  });
  connect();
})();
