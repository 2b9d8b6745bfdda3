import { EmbeddedPostgres } from 'tether/database';

/** A private embedded server for tests and benchmarks that stop, kill or restart the database. */
export async function startPrivatePostgres(): Promise<EmbeddedPostgres> {
  return EmbeddedPostgres.start({ dataDir: EmbeddedPostgres.temporaryDataDir('tether-test-'), ephemeral: true });
}
