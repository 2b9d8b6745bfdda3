import type { Vitest } from 'vitest/node';

/** A test category: one Vitest project of the same name, declared in the config's `categories` export. */
export interface Category {
  readonly name: string;
  /** Needs PostgreSQL (and, through its fixtures, the server): refused without `--real-services`. */
  readonly services: boolean;
  /**
   * Runs through PgBouncer in transaction mode (needs the `pgbouncer` binary): on a machine without it the
   * category is not run, and the run says so; named explicitly, it fails.
   */
  readonly pooler: boolean;
}

export class CategoryConfigError extends Error {
  override readonly name = 'CategoryConfigError';
}

/**
 * Reads `export const categories = { unit: { include, services }, … }` from the Vitest config (through Vitest's
 * own module loader, so a TypeScript config works) and checks that each category has a project.
 */
export async function loadCategories(vitest: Vitest, configFile: string): Promise<Category[]> {
  const configModule = await vitest.import<Record<string, unknown>>(configFile);
  const declared = configModule['categories'];
  if (typeof declared !== 'object' || declared === null) {
    throw new CategoryConfigError(`${configFile} must export \`categories\`: { name: { include, services } }`);
  }
  const projectNames = new Set(vitest.projects.map((project) => project.name));
  const categories: Category[] = [];
  for (const [name, value] of Object.entries(declared)) {
    const services = typeof value === 'object' && value !== null && 'services' in value ? value.services : undefined;
    if (typeof services !== 'boolean')
      throw new CategoryConfigError(`category ${name}: \`services\` must be true or false`);
    const pooler = typeof value === 'object' && value !== null && 'pooler' in value ? value.pooler : false;
    if (typeof pooler !== 'boolean')
      throw new CategoryConfigError(`category ${name}: \`pooler\` must be true or false`);
    if (pooler && !services) throw new CategoryConfigError(`category ${name}: \`pooler\` needs \`services: true\``);
    if (!projectNames.has(name))
      throw new CategoryConfigError(`category ${name} has no Vitest project of that name in ${configFile}`);
    categories.push({ name, services, pooler });
  }
  return categories;
}
