import { describe, expect, it } from 'vitest';
import { cheapestReaching, recall } from '../scripts/bench/recall.js';

describe('bench recall helpers', () => {
  it('counts the exact neighbours found, over all queries', () => {
    expect(recall([[1, 2, 3], [4, 9, 9]], [[1, 2, 5], [4, 5, 6]])).toBeCloseTo(3 / 6);
    expect(recall([], [])).toBe(0);
    // a query the approximate side did not answer finds nothing
    expect(recall([[1]], [[1], [2]])).toBe(0.5);
  });

  it('picks the lowest search ef that reaches the target, then the cheapest build', () => {
    const point = (m: number, efConstruction: number, efSearch: number, recallAt10: number) => ({ m, efConstruction, efSearch, recallAt10, p50: 1 });
    const points = [point(16, 200, 40, 0.94), point(16, 64, 100, 0.96), point(32, 64, 40, 0.97), point(16, 200, 100, 0.99), point(16, 64, 400, 0.999)];
    expect(cheapestReaching(points, 0.95)).toEqual(point(32, 64, 40, 0.97));
    expect(cheapestReaching(points, 0.98)).toEqual(point(16, 200, 100, 0.99));
    expect(cheapestReaching(points, 0.9999)).toBeUndefined();
  });
});
