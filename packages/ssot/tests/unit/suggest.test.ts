import { describe, expect, it } from 'vitest';
import { annotationName } from '../../src/model/model.js';
import { suggest } from '../../src/rules/suggest.js';

describe('did-you-mean suggestions', () => {
  it('suggests the renamed field of the original bug', () => {
    const fields = ['session_id', 'last_activity_at', 'query_count', 'transaction_count', 'error_count', 'last_error'];
    expect(suggest('last_activity', fields)).toBe('last_activity_at');
    expect(suggest('errors', fields)).toBe('error_count');
  });

  it('stays silent when nothing is clearly closest', () => {
    expect(suggest('operations_count', ['session_id', 'query_count', 'transaction_count', 'error_count'])).toBeNull();
    expect(suggest('zzz', ['alpha', 'beta'])).toBeNull();
  });

  it('handles camelCase and typos', () => {
    expect(suggest('errors', ['errorCount', 'queryCount'])).toBe('errorCount');
    expect(suggest('query_cnt', ['query_count', 'error_count'])).toBe('query_count');
  });
});

describe('annotation names', () => {
  it('unwraps Optional, unions with None, quotes and generics', () => {
    expect(annotationName('Optional[SessionMetrics]')).toBe('SessionMetrics');
    expect(annotationName('SessionMetrics | None')).toBe('SessionMetrics');
    expect(annotationName('"mod.SessionMetrics"')).toBe('mod.SessionMetrics');
    expect(annotationName('typing.Optional["A"]')).toBe('A');
    expect(annotationName('Box[int]')).toBe('Box');
  });

  it('gives up on real unions and calls', () => {
    expect(annotationName('A | B')).toBeNull();
    expect(annotationName('f()')).toBeNull();
  });
});
