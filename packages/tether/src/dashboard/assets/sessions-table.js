// The table of open sessions: only the rows in view are drawn.
import { $, age, escapeHtml, fmt } from './format.js';

// px: every row of the sessions table is this tall (dashboard.css), so only those in view are drawn
const ROW_HEIGHT = 30;
const OVERSCAN = 8;

const table = { rows: [], queued: false };

const userCell = (s) =>
  s.userEmail
    ? `<td title="${escapeHtml(s.userId)}">${escapeHtml(s.userEmail)}</td>`
    : `<td>${escapeHtml(s.userId || 'anonymous')}</td>`;

const errorCell = (s) => {
  const code = s.lastErrorCode ? ` (${escapeHtml(s.lastErrorCode)})` : '';
  return `<td class="num${s.errorCount ? ' err' : ''}">${s.errorCount}${code}</td>`;
};

const row = (s) =>
  `<tr>${userCell(s)}<td>${escapeHtml(s.requestId)}</td><td class="num">${age(s.ageMs)}</td>` +
  `<td>${escapeHtml(s.state)}</td><td class="num">${s.queryCount}</td>${errorCell(s)}</tr>`;

const spacer = (n) =>
  n > 0 ? `<tr class="spacer" aria-hidden="true"><td colspan="6" style="height:${n * ROW_HEIGHT}px"></td></tr>` : '';

/** Draws only the rows in view (and a few around them): a thousand sessions cost the same as twenty. */
function renderTable() {
  table.queued = false;
  const rows = table.rows;
  const wrap = $('sessions-wrap');
  const first = Math.max(0, Math.floor(wrap.scrollTop / ROW_HEIGHT) - OVERSCAN);
  const shown = rows.slice(first, first + Math.ceil((wrap.clientHeight || 360) / ROW_HEIGHT) + 2 * OVERSCAN);
  $('sessions').tBodies[0].innerHTML =
    spacer(first) + shown.map(row).join('') + spacer(rows.length - first - shown.length);
}

/** Redraws at the next animation frame (scrolling asks many times a frame). */
export function queueTable() {
  if (table.queued) return;
  table.queued = true;
  requestAnimationFrame(renderTable);
}

export function showTable(frame) {
  table.rows = frame.sessions.rows;
  const { total } = frame.sessions;
  $('sessions-count').textContent =
    total > table.rows.length ? `(${fmt(table.rows.length)} oldest of ${fmt(total)})` : `(${fmt(total)})`;
  queueTable();
}
