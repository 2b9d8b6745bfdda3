/**
 * A queue of waiters grouped by key (an identity) and served round-robin across keys, in arrival order within
 * each: a key with 200 waiters gets one turn in every round, like a key with one. Served keys go to the back of
 * the round (a `Map` keeps insertion order), so `shift` and `push` cost O(1) but for the array's own shift.
 */
export class FairQueue<T> {
  private readonly byKey = new Map<string, T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(key: string, item: T): void {
    const queue = this.byKey.get(key);
    if (queue) queue.push(item);
    else this.byKey.set(key, [item]);
    this.count++;
  }

  /** The first waiter of the key whose turn it is; that key moves to the back of the round. */
  shift(): T | undefined {
    for (const [key, queue] of this.byKey) {
      const item = queue.shift() as T;
      this.count--;
      this.byKey.delete(key);
      if (queue.length > 0) this.byKey.set(key, queue);
      return item;
    }
    return undefined;
  }

  /** Removes a waiter that gave up (timed out); whether it was there. */
  remove(key: string, item: T): boolean {
    const queue = this.byKey.get(key);
    const at = queue?.indexOf(item) ?? -1;
    if (!queue || at < 0) return false;
    queue.splice(at, 1);
    this.count--;
    if (queue.length === 0) this.byKey.delete(key);
    return true;
  }

  /** Empties the queue, returning every waiter. */
  drain(): T[] {
    const all = [...this.byKey.values()].flat();
    this.byKey.clear();
    this.count = 0;
    return all;
  }
}
