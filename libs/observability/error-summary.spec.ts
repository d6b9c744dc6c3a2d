import { describe, expect, it } from 'vitest';
import { errorSummary } from './error-summary.js';

describe('errorSummary', () => {
  it('says what an error is and where it was thrown in one line, without the stack', () => {
    const overflow = (() => {
      const recurse = (n: number): number => recurse(n + 1) + 1;
      try {
        recurse(0);
      } catch (error) {
        return error;
      }
      return null;
    })();
    const summary = errorSummary(overflow);
    expect(summary).toMatchObject({ type: 'RangeError', message: 'Maximum call stack size exceeded' });
    expect(summary.at).toMatch(/recurse/);
    expect(JSON.stringify(summary)).not.toMatch(/\\n/);
    expect(errorSummary(new Error('two\nlines'))).toMatchObject({ type: 'Error', message: 'two lines' });
    expect(errorSummary('plain')).toEqual({ type: 'string', message: 'plain' });
  });
});
