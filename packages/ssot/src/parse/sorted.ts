/**
 * The index of the first item of `items` for which `before` is false, where `before` holds for a prefix of `items`
 * and not after it (binary search: the insertion point after every item ordered before the one looked for).
 */
export function partitionPoint<T>(items: readonly T[], before: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(items[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
