/** Share of the exact neighbours the approximate search found (recall@k, k = each truth list's length). */
export function recall(found: number[][], truth: number[][]): number {
  let hit = 0;
  let expected = 0;
  truth.forEach((exact, i) => {
    const got = new Set(found[i] ?? []);
    hit += exact.filter((id) => got.has(id)).length;
    expected += exact.length;
  });
  return expected === 0 ? 0 : hit / expected;
}

export interface EfPoint {
  m: number;
  efConstruction: number;
  efSearch: number;
  recallAt10: number;
  p50: number;
}

/**
 * The cheapest setting that reaches `target` recall: the lowest search ef, then the smallest m and
 * build ef (search ef is what every question pays; m and build ef are paid once, at build time).
 * Undefined when no measured setting reaches it.
 */
export function cheapestReaching<T extends EfPoint>(points: T[], target: number): T | undefined {
  return points
    .filter((p) => p.recallAt10 >= target)
    .sort((a, b) => a.efSearch - b.efSearch || a.m - b.m || a.efConstruction - b.efConstruction)[0];
}
