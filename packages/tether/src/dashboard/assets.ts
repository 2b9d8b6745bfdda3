import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
/** The page's own files: beside this module in `src/`, copied beside it into `dist/` at build. */
const ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));
const UPLOT_DIR = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

export interface DashboardAsset {
  readonly file: string;
  readonly contentType: string;
}

function script(name: string): Record<string, DashboardAsset> {
  return { [name]: { file: path.join(ASSETS_DIR, name), contentType: 'text/javascript; charset=utf-8' } };
}

/** Only these names are served: nothing else on disk is reachable through the asset route. */
const ASSETS: Readonly<Record<string, DashboardAsset>> = {
  'index.html': { file: path.join(ASSETS_DIR, 'index.html'), contentType: 'text/html; charset=utf-8' },
  ...script('dashboard.js'),
  ...script('charts.js'),
  ...script('sessions-table.js'),
  ...script('events.js'),
  ...script('format.js'),
  ...script('locale.js'),
  'dashboard.css': { file: path.join(ASSETS_DIR, 'dashboard.css'), contentType: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': {
    file: path.join(UPLOT_DIR, 'uPlot.iife.min.js'),
    contentType: 'text/javascript; charset=utf-8',
  },
  'uPlot.min.css': { file: path.join(UPLOT_DIR, 'uPlot.min.css'), contentType: 'text/css; charset=utf-8' },
};

export function dashboardAsset(name: string): DashboardAsset | undefined {
  return Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
}
