import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from '../errors.js';
import { makeDirectory } from '../make-directory.js';

export const SECRET_FILE = 'jwt-secret';

/**
 * The JWT signing secret: the configured one, or one generated once into `<dataDir>/jwt-secret` (mode 600) and
 * read from there on every later start. Instances that share a database must share the secret (TETHER_SECRET).
 */
export function loadSigningSecret(configured: string | undefined, dataDir: string): Uint8Array {
  if (configured) return new TextEncoder().encode(configured);
  const file = path.join(path.resolve(dataDir), SECRET_FILE);
  try {
    makeDirectory(path.dirname(file), 0o700);
    try {
      writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    chmodSync(file, 0o600);
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length < 32) throw new Error(`${file} holds fewer than 32 characters`);
    return new TextEncoder().encode(secret);
  } catch (cause) {
    throw new ConfigurationError(`cannot read or create the signing secret ${file}: ${(cause as Error).message}`, {
      cause,
    });
  }
}
