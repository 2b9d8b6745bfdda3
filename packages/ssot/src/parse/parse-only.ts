/**
 * Reads and parses a file with the scanner's parsers and extracts nothing: the floor under a cold scan, which
 * `npm run bench:scan` measures on the same files and threads (`parse_floor_seconds`).
 */
import { readFileSync } from 'node:fs';
import { parseScript } from './oxc.js';
import Parser from 'tree-sitter';
import Python from 'tree-sitter-python';
import { languageOf } from './extract.js';

let parser: Parser | null = null;

/** Parses one file as the extractors do (same parser, grammar and buffer size) and drops the tree. */
export function parseOnly(absolute: string, relative: string): void {
  let source: string;
  try {
    source = readFileSync(absolute, 'utf8');
  } catch {
    return;
  }
  const language = languageOf(relative) ?? 'python';
  if (language === 'python') {
    if (!parser) {
      parser = new Parser();
      parser.setLanguage(Python as Parser.Language);
    }
    // the extractor reads hasError on every tree too
    void parser.parse(source, undefined, { bufferSize: Math.max(source.length, 1) }).rootNode.hasError;
  } else {
    parseScript(relative, source);
  }
}
