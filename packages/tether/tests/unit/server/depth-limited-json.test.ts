import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NestingTooDeepError, parseJsonWithin } from 'tether/server';

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('depth-limited JSON parsing', () => {
  it('parses JSON up to the limit and refuses one level more with nesting_too_deep', () => {
    expect(parseJsonWithin(nested(64), 64)).toBeInstanceOf(Array);
    expect(() => parseJsonWithin(nested(65), 64)).toThrow(NestingTooDeepError);
    expect(() => parseJsonWithin(`{"a":{"b":${nested(63)}}}`, 64)).toThrow(/more than 64 levels/);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: '[[[[{{{{"\\"[[[', t: ['\\', '"]]]"'] });
    expect(parseJsonWithin(text, 2)).toEqual(JSON.parse(text));
    expect(parseJsonWithin(JSON.stringify({ s: '['.repeat(1000) }), 1)).toEqual({ s: '['.repeat(1000) });
  });

  it('gives what JSON.parse gives for any value within the limit, and its error for text that is not JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        expect(parseJsonWithin(text, 64)).toEqual(JSON.parse(text));
      }),
    );
    for (const bad of ['', '{', '[1,]', '{"a":"unterminated', ']]]]', '"\\'])
      expect(() => parseJsonWithin(bad, 64)).toThrow(SyntaxError);
  });

  it('refuses before JSON.parse sees the text: too deep is nesting_too_deep even when the rest is not JSON', () => {
    expect(() => parseJsonWithin(`{"email":${nested(524_000)}}`, 64)).toThrow(NestingTooDeepError);
    expect(() => parseJsonWithin(`${'['.repeat(65)}"never closed`, 64)).toThrow(NestingTooDeepError);
  });
});
