/** The environment for npm commands a test runs as a user would: without the npm_* variables of the `npm test` that
 *  started the suite (its workspace, prefix and scripts' settings would leak into the child's npm). */
export function cleanNpmEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return { ...env, ...extra };
}
