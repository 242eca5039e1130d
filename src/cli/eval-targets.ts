/**
 * The quality bars the evals print beside their figures (issue 11: the bundled encoder on a
 * 2-core machine), so a run says at once which are met. Pure: figures in, lines out.
 */

/** One figure held against its bar. */
export interface TargetCheck {
  measure: string;
  value: number;
  /** The bar: at least this (`atLeast`) or at most this. */
  target: number;
  atLeast: boolean;
  met: boolean;
}

/** Paraphrased questions asked against a whole corpus (`--questions`). */
export const QUESTION_TARGETS = { top3: 0.9, answerAccuracy: 0.75, answered: 0.9, wronglyAnswered: 0.2 } as const;
/** SQuADShifts-style crowd questions (`--qa`): no regression below these. */
export const QA_TARGETS = { hybridHit1: 0.82, answerAccuracy: 0.8 } as const;

function check(measure: string, value: number | undefined, target: number, atLeast: boolean): TargetCheck[] {
  if (value === undefined) return [];
  return [{ measure, value, target, atLeast, met: atLeast ? value >= target : value <= target }];
}

/** The checks that apply to a question file's figures: answerable ones, unanswerable ones, or both. */
export function questionTargets(f: { hybrid?: { top3: number }; answerAccuracy?: number; answered?: number; wronglyAnswered?: number }): TargetCheck[] {
  return [
    ...check('right article in top 3', f.hybrid?.top3, QUESTION_TARGETS.top3, true),
    ...check('answer accuracy', f.answerAccuracy, QUESTION_TARGETS.answerAccuracy, true),
    ...check('answered', f.answered, QUESTION_TARGETS.answered, true),
    ...check('unanswerable questions answered anyway', f.wronglyAnswered, QUESTION_TARGETS.wronglyAnswered, false),
  ];
}

export function qaTargets(f: { hybrid: { hit1: number }; answerAccuracy: number }): TargetCheck[] {
  return [...check('hybrid hit@1', f.hybrid.hit1, QA_TARGETS.hybridHit1, true), ...check('answer accuracy', f.answerAccuracy, QA_TARGETS.answerAccuracy, true)];
}

/** One line, "targets, 1 of 3 met: … answer accuracy 0.533 (≥ 0.75) NOT met · …"; none when nothing applies. */
export function formatTargets(checks: TargetCheck[]): string[] {
  if (checks.length === 0) return [];
  const met = checks.filter((c) => c.met).length;
  const parts = checks.map((c) => `${c.measure} ${c.value.toFixed(3)} (${c.atLeast ? '≥' : '≤'} ${c.target.toFixed(2)}) ${c.met ? 'met' : 'NOT met'}`);
  return [`targets, ${met} of ${checks.length} met: ${parts.join(' · ')}`];
}
