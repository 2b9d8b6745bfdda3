// How the dashboard writes figures, ages, times and text into the page.

export const $ = (id) => document.getElementById(id);

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ENTITIES[c]);

// one formatter per number of digits: made once
const formats = [0, 1, 2].map(
  (digits) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }),
);
export const fmt = (n, digits = 0) => (Number.isFinite(n) ? formats[digits].format(n) : '–');

export const age = (ms) =>
  ms < 1_000
    ? `${ms} ms`
    : ms < 60_000
      ? `${(ms / 1_000).toFixed(1)} s`
      : `${Math.floor(ms / 60_000)} min ${Math.floor((ms % 60_000) / 1_000)} s`;

export const clock = (at) => new Date(at).toLocaleTimeString('en-GB');
