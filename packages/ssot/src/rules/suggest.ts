/** "Did you mean": the closest attribute by edit distance or shared words, when one is clearly closest. */

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

function words(name: string): Set<string> {
  return new Set(
    name
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase()
      .split(/_+/)
      .filter((w) => w.length > 0)
      .map((w) => (w.length > 3 && w.endsWith('s') ? w.slice(0, -1) : w)),
  );
}

export function similarity(a: string, b: string): number {
  const edit = 1 - levenshtein(a.toLowerCase(), b.toLowerCase()) / Math.max(a.length, b.length);
  const wa = words(a);
  const wb = words(b);
  let shared = 0;
  for (const w of wa) if (wb.has(w)) shared++;
  const jaccard = shared / (wa.size + wb.size - shared || 1);
  // either nearly the same spelling, or at least half the words in common (the leading word weighs more)
  const lead = [...wa][0] !== undefined && [...wa][0] === [...wb][0] ? 0.1 : 0;
  return Math.max(edit >= 0.7 ? edit : 0, jaccard >= 0.5 ? jaccard + lead + 0.05 * edit : 0);
}

export function suggest(name: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestScore = 0;
  let second = 0;
  for (const c of candidates) {
    if (c.startsWith('__') || c === name) continue;
    const s = similarity(name, c);
    if (s > bestScore) {
      second = bestScore;
      bestScore = s;
      best = c;
    } else if (s > second) second = s;
  }
  return best !== null && bestScore > 0 && bestScore > second ? best : null;
}
