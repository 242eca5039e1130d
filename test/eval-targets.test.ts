import { describe, expect, it } from 'vitest';
import { formatTargets, qaTargets, questionTargets } from '../src/cli/eval-targets.js';

describe('eval targets: each figure held against its bar', () => {
  it('an unanswerable-only file is held only to "answered anyway", which must stay at or below its bar', () => {
    const checks = questionTargets({ wronglyAnswered: 0.2 });
    expect(checks).toEqual([{ measure: 'unanswerable questions answered anyway', value: 0.2, target: 0.2, atLeast: false, met: true }]);
    expect(questionTargets({ wronglyAnswered: 0.275 })[0].met).toBe(false);
  });

  it('says how many bars are met and names the ones that are not', () => {
    const checks = questionTargets({ hybrid: { top3: 0.933 }, answerAccuracy: 0.533, answered: 0.683 });
    expect(checks.map((c) => c.met)).toEqual([true, false, false]);
    expect(formatTargets(checks)).toEqual([
      'targets, 1 of 3 met: right article in top 3 0.933 (≥ 0.90) met · answer accuracy 0.533 (≥ 0.75) NOT met · answered 0.683 (≥ 0.90) NOT met',
    ]);
    expect(formatTargets(qaTargets({ hybrid: { hit1: 0.82 }, answerAccuracy: 0.804 }))).toEqual(['targets, 2 of 2 met: hybrid hit@1 0.820 (≥ 0.82) met · answer accuracy 0.804 (≥ 0.80) met']);
    expect(formatTargets([])).toEqual([]);
  });
});
