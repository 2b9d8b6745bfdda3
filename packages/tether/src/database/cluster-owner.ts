import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Who runs the cluster in a data directory. PostgreSQL's own `postmaster.pid` names the postmaster and its port;
 * `postgres.owner` beside the cluster names the process that launched it. A postmaster whose parent is still
 * that process belongs to a live server; one whose parent is gone (reparented) is an orphan we may stop.
 */
export type ClusterState =
  | { readonly kind: 'stopped' }
  /** A postmaster of this cluster whose launching process is gone. */
  | { readonly kind: 'orphaned'; readonly postmasterPid: number }
  /** A postmaster still owned by the live process that started it (a running `tether serve`, say). */
  | { readonly kind: 'owned'; readonly postmasterPid: number; readonly ownerPid: number; readonly port: number };

const OWNER_FILE = 'postgres.owner';

/** Records this process as the owner of the cluster under `pgData` (called right after postgres is spawned). */
export function recordOwner(pgData: string): void {
  writeFileSync(path.join(path.dirname(pgData), OWNER_FILE), `${process.pid}\n`);
}

export function clearOwner(pgData: string): void {
  rmSync(path.join(path.dirname(pgData), OWNER_FILE), { force: true });
}

/** Reads the pid files and /proc; a pid file whose process is gone or is not this cluster's postmaster is removed. */
export function inspectCluster(pgData: string): ClusterState {
  const pidFile = path.join(pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return { kind: 'stopped' };
  // postmaster.pid: pid, data directory, start time, port, socket directory, listen address, …
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const postmasterPid = Number(lines[0]);
  const port = Number(lines[3]);
  const cmdline = Number.isInteger(postmasterPid) && postmasterPid > 0 ? readProc(postmasterPid, 'cmdline') : undefined;
  if (cmdline === undefined || !cmdline.includes('postgres') || !cmdline.includes(pgData)) {
    rmSync(pidFile, { force: true }); // dead or reused pid: postgres would accept this, but be explicit
    return { kind: 'stopped' };
  }
  const ownerPid = readOwner(pgData);
  const parentPid = parentOf(postmasterPid);
  if (ownerPid !== undefined && parentPid === ownerPid) {
    return { kind: 'owned', postmasterPid, ownerPid, port };
  }
  return { kind: 'orphaned', postmasterPid };
}

function readOwner(pgData: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(path.dirname(pgData), OWNER_FILE), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The parent pid from /proc/PID/stat; the command name (field 2) may hold spaces, so read after its ')'. */
function parentOf(pid: number): number | undefined {
  const stat = readProc(pid, 'stat');
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

function readProc(pid: number, file: 'cmdline' | 'stat'): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}
