// Copies the files the compiled code reads at run time (SQL migrations, the dashboard page) from src/ into
// dist/, so that dist/ (and the packed package) never reaches back into src/. Runs after `tsc -b`.
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
for (const dir of ['database/migrations', 'dashboard/assets']) {
  rmSync(`${root}dist/${dir}`, { recursive: true, force: true }); // a file deleted from src/ leaves dist/ too
  cpSync(`${root}src/${dir}`, `${root}dist/${dir}`, { recursive: true });
}
