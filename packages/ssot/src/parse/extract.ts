import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { extractPython } from './python.js';
import { extractScript } from './typescript.js';
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

/** Reads and extracts one file. Never throws: a failure becomes the summary's parseError. */
export function extractFile(absolute: string, relative: string): FileSummary {
  const language = languageOf(relative) ?? 'python';
  let source = '';
  try {
    source = readFileSync(absolute, 'utf8');
    return language === 'python' ? extractPython(relative, source) : extractScript(relative, source, language);
  } catch (error) {
    return {
      path: relative, language, lines: countLines(source), parseError: error instanceof Error ? error.message : String(error),
      classes: [], imports: [], functions: [], scopes: [], reads: [], writes: [], assignedAttributes: [], escapes: [], generated: false, suppressions: [],
    };
  }
}
