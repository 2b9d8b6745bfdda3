import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { extractPython } from './python.js';
import { extractScript } from './typescript.js';
import { failedSummary } from './summary.js';
import type { FileSummary, Language } from './summary.js';
import { countLines } from './suppressions.js';

export function languageOf(path: string): Language | null {
  switch (extname(path).toLowerCase()) {
    case '.py':
    case '.pyi':
      return 'python';
    case '.ts':
    case '.tsx':
    case '.mts':
    case '.cts':
      return 'typescript';
    case '.js':
    case '.jsx':
    case '.mjs':
    case '.cjs':
      return 'javascript';
    default:
      return null;
  }
}

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

/** What the summary cache keys a file's summary by: a hash of its bytes. */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/** Reads and extracts one file. Never throws: a failure becomes the summary's parseError. */
export function extractFile(absolute: string, relative: string): FileSummary {
  return readAndExtract(absolute, relative).summary;
}

/** Reads, hashes and extracts one file; an unreadable file has a null hash (it is never cached). */
export function readAndExtract(absolute: string, relative: string): { summary: FileSummary; hash: string | null } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolute);
  } catch (error) {
    return { summary: failed(relative, languageOf(relative) ?? 'python', '', error), hash: null };
  }
  return { summary: extractSource(relative, bytes.toString('utf8')), hash: contentHash(bytes) };
}
