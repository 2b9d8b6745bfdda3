import { extractPython } from './python.js';
import { extractScript } from './typescript.js';
import { failedSummary } from './summary.js';
import type { FileSummary, Language } from './summary.js';
import { contentHash, languageOf, readSource } from './source.js';
import { countLines } from './suppressions.js';

export { contentHash, languageOf } from './source.js';

/** Extracts one file's text (an editor's buffer, or a file read by the caller). Never throws: a failure becomes the
 *  summary's parseError. */
export function extractSource(relative: string, source: string): FileSummary {
  const language = languageOf(relative) ?? 'python';
  try {
    return language === 'python' ? extractPython(relative, source) : extractScript(relative, source, language);
  } catch (error) {
    return failed(relative, language, source, error);
  }
}

function failed(relative: string, language: Language, source: string, error: unknown): FileSummary {
  const parseError = error instanceof Error ? error.message : String(error);
  return failedSummary({ path: relative, language, lines: countLines(source), parseError });
}

/** Reads and extracts one file. Never throws: a failure becomes the summary's parseError. */
export function extractFile(absolute: string, relative: string): FileSummary {
  return readAndExtract(absolute, relative).summary;
}

/** One file read and extracted: its summary, and (when hashed, for the cache) its content hash and stamp. */
export interface ReadSummary {
  readonly summary: FileSummary;
  /** null: not hashed, or unreadable (never cached) */
  readonly hash: string | null;
  /** see fileStamp; '' when not hashed */
  readonly stamp: string;
}

/** Reads and extracts one file, hashing it when `hash` (for the cache). Never throws: a failure becomes the summary's
 *  parseError, and an unreadable file has a null hash. */
export function readAndExtract(absolute: string, relative: string, hash = true): ReadSummary {
  let read: { bytes: Buffer; stamp: string };
  try {
    read = readSource(absolute);
  } catch (error) {
    return { summary: failed(relative, languageOf(relative) ?? 'python', '', error), hash: null, stamp: '' };
  }
  const summary = extractSource(relative, read.bytes.toString('utf8'));
  return hash ? { summary, hash: contentHash(read.bytes), stamp: read.stamp } : { summary, hash: null, stamp: '' };
}
