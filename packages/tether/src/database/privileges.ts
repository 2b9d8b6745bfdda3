import { statSync } from 'node:fs';
import path from 'node:path';

/** The identity PostgreSQL runs as: itself when we are not root, `nobody` when we are (postgres refuses root). */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  /** True when the process must switch to an unprivileged user to run postgres. */
  readonly switchUser: boolean;
}

const NOBODY = 65534;

export function postgresIdentity(): RunAs {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return uid === 0 ? { uid: NOBODY, gid: NOBODY, switchUser: true } : { uid, gid, switchUser: false };
}

/** Whether `who` may traverse every directory from `/` down to `target` (and read it, if it exists). */
export function isReachableBy(target: string, who: RunAs): boolean {
  if (!who.switchUser) return true;
  let dir = path.resolve(target);
  for (;;) {
    let st;
    try {
      st = statSync(dir);
    } catch {
      // a missing leaf is created later by us, with the right owner; check its parent
      const parent = path.dirname(dir);
      if (parent === dir) return false;
      dir = parent;
      continue;
    }
    const bits = st.uid === who.uid ? (st.mode >> 6) & 7 : st.gid === who.gid ? (st.mode >> 3) & 7 : st.mode & 7;
    if (st.isDirectory() && (bits & 1) === 0) return false;
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}
