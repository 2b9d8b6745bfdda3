// Tether dashboard client: signs in, subscribes to /dashboard/ws and renders each frame.
// Plain browser JavaScript, no build step; charts by uPlot (loaded before this file).
/* global uPlot */
'use strict';

(() => {
  const TOKEN_KEY = 'tether.dashboard.token';
  const HISTORY_MS = 5 * 60_000;
  const CHART_EVERY_MS = 500;
  // px: every row of the sessions table is this tall (dashboard.css), so only those in view are drawn
  const ROW_HEIGHT = 30;
  const OVERSCAN = 8;
  const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'];
  const $ = (id) => document.getElementById(id);

  const state = {
    socket: null,
    retry: null,
    times: [],
    sessions: [],
    errors: new Map(), // code → values aligned with times
    p50: [],
    p99: [],
    http: new Map(STATUS_CLASSES.map((c) => [c, []])),
    wsConnections: [],
    errorLevels: new Map(), // code → 'info' | 'warn' | 'error'
    rows: [],
    tableQueued: false,
    charts: {},
    errorCodes: [],
    errorsKey: '',
    chartsQueued: false,
    chartWidth: 0,
    lastChart: 0,
    lastTable: 0,
    errorEvents: [],
    leakEvents: [],
  };

  const escapeHtml = (s) =>
    String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const formats = [0, 1, 2].map(
    (digits) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }),
  );
  const fmt = (n, digits = 0) => (Number.isFinite(n) ? formats[digits].format(n) : '–'); // one formatter each: made once
  const age = (ms) =>
    ms < 1_000
      ? `${ms} ms`
      : ms < 60_000
        ? `${(ms / 1_000).toFixed(1)} s`
        : `${Math.floor(ms / 60_000)} min ${Math.floor((ms % 60_000) / 1_000)} s`;
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

  function makeChart(id, series, yLabel) {
    const el = $(id);
    // the charts share one grid column width: measured once (a forced layout), not once per chart
    state.chartWidth ||= Math.max(300, el.clientWidth || 400);
    const width = state.chartWidth;
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

  /** One sample (a frame, or a point of the history the server sends first) onto the charts' series. */
  function record(sample) {
    const t = sample.at / 1_000;
    if (state.times.length && t <= state.times[state.times.length - 1]) return; // already drawn
    state.times.push(t);
    state.sessions.push(sample.rates.sessionsPerSec);
    state.p50.push(sample.acquire.p50Ms);
    state.p99.push(sample.acquire.p99Ms);
    const http = sample.rates.httpPerSec || {};
    for (const [statusClass, values] of state.http) values.push(http[statusClass] || 0);
    state.wsConnections.push(sample.websocket ? sample.websocket.connections : 0);
    for (const [code, level] of Object.entries(sample.rates.errorLevels || {})) state.errorLevels.set(code, level);
    for (const code of Object.keys(sample.rates.errorsPerSec)) {
      if (!state.errors.has(code))
        state.errors.set(
          code,
          state.times.slice(0, -1).map(() => 0),
        );
    }
    for (const [code, values] of state.errors) values.push(sample.rates.errorsPerSec[code] || 0);
    const cutoff = t - HISTORY_MS / 1_000;
    let drop = 0;
    while (drop < state.times.length && state.times[drop] < cutoff) drop++;
    if (drop) {
      const lists = [
        state.times,
        state.sessions,
        state.p50,
        state.p99,
        state.wsConnections,
        ...state.http.values(),
        ...state.errors.values(),
      ];
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
      state.errorCodes.length
        ? state.errorCodes.map((code, i) =>
            state.errorLevels.get(code) === 'info'
              ? { label: `${code} (caller's own)`, stroke: '#8a94a3', width: 1, dash: [4, 4] }
              : { label: code, stroke: PALETTE[i % PALETTE.length], width: 2 },
          )
        : [{ label: 'errors', stroke: '#b00020', width: 2 }],
  };
  const CHART_UNITS = { sessions: 'per s', acquire: 'ms', http: 'per s', websockets: 'connections', errors: 'per s' };
  const CHART_DATA = {
    sessions: () => [state.times, state.sessions],
    acquire: () => [state.times, state.p50, state.p99],
    http: () => [state.times, ...state.http.values()],
    websockets: () => [state.times, state.wsConnections],
    errors: () => [
      state.times,
      ...(state.errorCodes.length ? state.errorCodes.map((c) => state.errors.get(c)) : [state.times.map(() => 0)]),
    ],
  };

  function drawChart(id) {
    if (id === 'errors') {
      const codes = [...state.errors.keys()].sort();
      const key = codes.map((c) => `${c}:${state.errorLevels.get(c)}`).join();
      if (state.charts.errors && key !== state.errorsKey) {
        state.charts.errors.destroy();
        delete state.charts.errors;
        $('chart-errors').textContent = '';
      }
      state.errorCodes = codes;
      state.errorsKey = key;
    }
    state.charts[id] ??= makeChart(`chart-${id}`, CHART_SERIES[id](), CHART_UNITS[id]);
    state.charts[id].setData(CHART_DATA[id]());
    $(`chart-${id}`).dataset.points = String(state.times.length);
  }

  /** Each chart is drawn in a task of its own: five charts never add up to one long task. */
  function drawCharts() {
    if (state.chartsQueued) return;
    state.chartsQueued = true;
    const ids = Object.keys(CHART_SERIES);
    const next = () => {
      const id = ids.shift();
      if (id === undefined) {
        state.chartsQueued = false;
        return;
      }
      drawChart(id);
      setTimeout(next, 0);
    };
    setTimeout(next, 0);
  }

  const userCell = (s) =>
    s.userEmail
      ? `<td title="${escapeHtml(s.userId)}">${escapeHtml(s.userEmail)}</td>`
      : `<td>${escapeHtml(s.userId || 'anonymous')}</td>`;

  /** Draws only the rows in view (and a few around them): a thousand sessions cost the same as twenty. */
  function renderTable() {
    state.tableQueued = false;
    const rows = state.rows;
    const wrap = $('sessions-wrap');
    const first = Math.max(0, Math.floor(wrap.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const shown = rows.slice(first, first + Math.ceil((wrap.clientHeight || 360) / ROW_HEIGHT) + 2 * OVERSCAN);
    const spacer = (n) =>
      n > 0
        ? `<tr class="spacer" aria-hidden="true"><td colspan="6" style="height:${n * ROW_HEIGHT}px"></td></tr>`
        : '';
    $('sessions').tBodies[0].innerHTML =
      spacer(first) +
      shown
        .map(
          (s) =>
            `<tr>${userCell(s)}<td>${escapeHtml(s.requestId)}</td><td class="num">${age(s.ageMs)}</td>` +
            `<td>${escapeHtml(s.state)}</td><td class="num">${s.queryCount}</td><td class="num${s.errorCount ? ' err' : ''}">${s.errorCount}${s.lastErrorCode ? ` (${escapeHtml(s.lastErrorCode)})` : ''}</td></tr>`,
        )
        .join('') +
      spacer(rows.length - first - shown.length);
  }

  function queueTable() {
    if (state.tableQueued) return;
    state.tableQueued = true;
    requestAnimationFrame(renderTable);
  }

  function showTable(frame) {
    state.rows = frame.sessions.rows;
    const { total } = frame.sessions;
    $('sessions-count').textContent =
      total > state.rows.length ? `(${fmt(state.rows.length)} oldest of ${fmt(total)})` : `(${fmt(total)})`;
    queueTable();
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

  function renderEvents(frame) {
    for (const event of frame.events) {
      if (event.type === 'leak' || event.type === 'unleak') {
        state.leakEvents.unshift(event);
        continue;
      }
      const entry =
        event.type === 'breaker'
          ? {
              at: event.at,
              code: `breaker ${event.state.replace('_', '-')}`,
              message: 'database circuit breaker changed state',
              count: 1,
            }
          : {
              at: event.at,
              code: event.code,
              message: event.message,
              requestId: event.requestId,
              level: event.level || 'error',
              user: event.userEmail || event.userId,
              count: 1,
            };
      // a burst of the same error (an outage) is one line with a count, not a wall of copies
      const head = state.errorEvents[0];
      if (head && head.code === entry.code && head.message === entry.message) {
        head.count++;
        head.at = entry.at;
        head.requestId = entry.requestId;
        head.user = entry.user;
      } else {
        state.errorEvents.unshift(entry);
      }
    }
    state.errorEvents.length = Math.min(state.errorEvents.length, 50);
    state.leakEvents.length = Math.min(state.leakEvents.length, 30);
    if (!frame.events.length && $('errors').childElementCount) return;
    $('errors').innerHTML = state.errorEvents.length
      ? state.errorEvents
          .map(
            (e) =>
              `<li data-level="${e.level || 'error'}"><time>${clock(e.at)}</time>` +
              `<code${e.code === 'breaker closed' ? ' class="ok"' : ''}>${escapeHtml(e.code)}</code>${e.count > 1 ? ` <strong>×${e.count}</strong>` : ''}` +
              `${e.level === 'info' ? ' <span class="sub">(the caller\'s own request, answered 4xx: not an alarm)</span>' : ''} ${escapeHtml(e.message)}` +
              `${e.requestId ? ` <span class="sub">last request ${escapeHtml(e.requestId)}${e.user ? ` by ${escapeHtml(e.user)}` : ''}</span>` : ''}</li>`,
          )
          .join('')
      : '<li class="empty">No errors.</li>';
    $('leaks').innerHTML = state.leakEvents.length
      ? state.leakEvents
          .map((e) =>
            e.type === 'leak'
              ? `<li><time>${clock(e.at)}</time><code>possible leak</code> request ${escapeHtml(e.requestId)}${e.userEmail ? ` of ${escapeHtml(e.userEmail)}` : ''} held ${age(e.heldMs)}${e.statement ? ` <span class="sub">running ${escapeHtml(e.statement.slice(0, 120))}</span>` : ''}${e.openedAt ? `<details><summary>Opened at</summary><pre>${escapeHtml(e.openedAt)}</pre></details>` : ''}</li>`
              : `<li><time>${clock(e.at)}</time>returned (unleaked): request ${escapeHtml(e.requestId)} after ${age(e.heldMs)}</li>`,
          )
          .join('')
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
    if (now - state.lastTable > 400) {
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
  window.addEventListener('resize', () => {
    state.chartWidth = 0;
    for (const [id, chart] of Object.entries(state.charts))
      chart.setSize({ width: Math.max(300, $(`chart-${id}`).clientWidth), height: 180 });
  });
  connect();
})();
