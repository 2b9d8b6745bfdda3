/** ssot: the single-source-of-truth scanner. Library API: scan(options) → Report. */
export const VERSION = '0.1.0';
