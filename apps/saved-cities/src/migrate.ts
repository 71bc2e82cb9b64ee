// The migrate step: `npm run migrate` (node dist/migrate.js), run by the deploy before the new version serves.
// Exit codes: 0 applied or nothing to do; 1 the database refused or could not be reached; 2 bad configuration.
import { createLogger, loadConfig, ConfigError } from '@slipway/service-kit';
import { savedCitiesEnvSchema, type SavedCitiesConfig } from './config';
import { migrateToLatest, openDatabase } from './database';
import { readOwnManifest } from './manifest';

async function main(): Promise<number> {
  let config: SavedCitiesConfig;
  try {
    config = loadConfig(savedCitiesEnvSchema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const loggerOptions = {
    level: config.LOG_LEVEL,
    name: 'saved-cities-migrate',
    secretKeys: readOwnManifest().secretKeys,
  };
  const logger = createLogger(loggerOptions);
  if (!config.DATABASE_URL) {
    process.stderr.write(
      'DATABASE_URL is not set: nothing to migrate (the embedded PGlite database migrates itself at start)\n',
    );
    return 0;
  }
  const database = await openDatabase(config, logger);
  try {
    const applied = await migrateToLatest(database, logger);
    process.stdout.write(
      applied.length === 0
        ? 'schema is current: no migration to apply\n'
        : `applied ${applied.length} migration(s): ${applied.join(', ')}\n`,
    );
    return 0;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`migrate failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
