import { TetherError } from '../errors.js';

/** JSON (a request body or a WebSocket frame) nested deeper than `server.maxJsonDepth`. */
export class NestingTooDeepError extends TetherError {
  readonly code = 'nesting_too_deep';
  override readonly callersFault = true;
}

/** The characters that change nesting depth or start a string; everything else is skipped natively. */
const STRUCTURE = /["[\]{}]/g;

/**
 * `JSON.parse`, refusing text nested deeper than `maxDepth` before any value is built. Parsing 524,000 nested
 * arrays costs hundreds of milliseconds of the main thread (and the value is refused afterwards anyway); the scan
 * stops at the first bracket beyond the limit, so such a body costs microseconds. A flat body pays one pass of a
 * native regular expression that jumps between brackets and quotes.
 */
export function parseJsonWithin(text: string, maxDepth: number): unknown {
  let depth = 0;
  STRUCTURE.lastIndex = 0;
  for (let match = STRUCTURE.exec(text); match !== null; match = STRUCTURE.exec(text)) {
    const at = match.index;
    switch (text.charCodeAt(at)) {
      case 0x22: // "
        STRUCTURE.lastIndex = stringEnd(text, at) + 1;
        break;
      case 0x5b: // [
      case 0x7b: // {
        if (++depth > maxDepth) {
          STRUCTURE.lastIndex = 0;
          throw new NestingTooDeepError(`JSON is nested more than ${maxDepth} levels deep`);
        }
        break;
      default:
        depth--;
    }
  }
  return JSON.parse(text);
}

/** Index of the quote closing the string that opens at `start` (the text's end when it is not closed). */
function stringEnd(text: string, start: number): number {
  let at = text.indexOf('"', start + 1);
  while (at !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = text.indexOf('"', at + 1);
  }
  return text.length;
}
