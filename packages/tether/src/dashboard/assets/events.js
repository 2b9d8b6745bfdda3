// The lists of recent errors (a burst of one error is one line with a count) and of leak warnings.
import { $, age, clock, escapeHtml } from './format.js';

const errorEvents = [];
const leakEvents = [];

function errorEntry(event) {
  if (event.type === 'breaker') {
    const code = `breaker ${event.state.replace('_', '-')}`;
    return { at: event.at, code, message: 'database circuit breaker changed state', count: 1 };
  }
  return {
    at: event.at,
    code: event.code,
    message: event.message,
    requestId: event.requestId,
    level: event.level || 'error',
    user: event.userEmail || event.userId,
    count: 1,
  };
}

function errorItem(e) {
  const code = `<code${e.code === 'breaker closed' ? ' class="ok"' : ''}>${escapeHtml(e.code)}</code>`;
  const count = e.count > 1 ? ` <strong>×${e.count}</strong>` : '';
  const whose =
    e.level === 'info' ? ' <span class="sub">(the caller\'s own request, answered 4xx: not an alarm)</span>' : '';
  const by = e.user ? ` by ${escapeHtml(e.user)}` : '';
  const request = e.requestId ? ` <span class="sub">last request ${escapeHtml(e.requestId)}${by}</span>` : '';
  return (
    `<li data-level="${e.level || 'error'}"><time>${clock(e.at)}</time>${code}${count}` +
    `${whose} ${escapeHtml(e.message)}${request}</li>`
  );
}

function leakItem(e) {
  const at = `<time>${clock(e.at)}</time>`;
  if (e.type !== 'leak') {
    return `<li>${at}returned (unleaked): request ${escapeHtml(e.requestId)} after ${age(e.heldMs)}</li>`;
  }
  const user = e.userEmail ? ` of ${escapeHtml(e.userEmail)}` : '';
  const statement = e.statement ? ` <span class="sub">running ${escapeHtml(e.statement.slice(0, 120))}</span>` : '';
  const opened = e.openedAt
    ? `<details><summary>Opened at</summary><pre>${escapeHtml(e.openedAt)}</pre></details>`
    : '';
  return (
    `<li>${at}<code>possible leak</code> request ${escapeHtml(e.requestId)}${user} held ${age(e.heldMs)}` +
    `${statement}${opened}</li>`
  );
}

export function renderEvents(frame) {
  for (const event of frame.events) {
    if (event.type === 'leak' || event.type === 'unleak') {
      leakEvents.unshift(event);
      continue;
    }
    const entry = errorEntry(event);
    // a burst of the same error (an outage) is one line with a count, not a wall of copies
    const head = errorEvents[0];
    if (head && head.code === entry.code && head.message === entry.message) {
      head.count++;
      head.at = entry.at;
      head.requestId = entry.requestId;
      head.user = entry.user;
    } else {
      errorEvents.unshift(entry);
    }
  }
  errorEvents.length = Math.min(errorEvents.length, 50);
  leakEvents.length = Math.min(leakEvents.length, 30);
  if (!frame.events.length && $('errors').childElementCount) return;
  $('errors').innerHTML = errorEvents.length
    ? errorEvents.map(errorItem).join('')
    : '<li class="empty">No errors.</li>';
  $('leaks').innerHTML = leakEvents.length ? leakEvents.map(leakItem).join('') : '<li class="empty">No leaks.</li>';
}
