import {
  createLogger,
  exitOnStartupError,
  HealthRegistry,
  loadConfigOrExit,
  resolveVersionInfo,
  startServer,
} from '@slipway/service-kit';
import { createApp } from './app';
import { createCitiesModule } from './cities';
import { savedCitiesEnvSchema } from './config';
import { EMBEDDED_DATABASE_NOTICE, migrateToLatest, openDatabase, SchemaGate } from './database';
import { readOwnManifest } from './manifest';

const SCHEMA_RECHECK_MS = 2000;

async function main(): Promise<void> {
  const config = loadConfigOrExit(savedCitiesEnvSchema);
  const { version: packageVersion, secretKeys } = readOwnManifest();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'saved-cities', secretKeys });
  const version = resolveVersionInfo({ env: config, packageVersion, cwd: __dirname });
  const health = new HealthRegistry({
    version: version.version,
    releaseId: version.commit,
    serviceId: 'saved-cities',
  });

  const database = await openDatabase(config, logger);
  // The embedded database lives and dies with this process, so no separate migrate step could reach it.
  if (database.embedded) await migrateToLatest(database, logger);
  const schema = new SchemaGate(database, (pending) => {
    process.stderr.write(
      `saved-cities refuses to serve: the database schema is behind this version (pending migrations: ${pending.join(', ')}); run the migrate step first (npm run migrate)\n`,
    );
    process.exit(1);
  });
  const state = await schema.check();
  if (state.kind === 'unchecked') {
    logger.warn(
      { reason: state.reason },
      'database not reachable yet: readiness fails and the API answers 503 until it is',
    );
    schema.retryUntilCurrent(SCHEMA_RECHECK_MS);
  }

  const app = createApp({
    logger,
    version,
    health,
    exposeStackTraces: config.EXPOSE_STACK_TRACES,
    secretKeys,
    cities: createCitiesModule({ database, schema }),
  });
  logger.info(
    { database: database.engine, version: version.version, commit: version.commit, node: process.version },
    database.embedded
      ? `starting with the ${EMBEDDED_DATABASE_NOTICE}`
      : 'starting with Postgres (DATABASE_URL)',
  );
  await startServer(app, {
    port: config.PORT,
    host: config.HOST,
    logger,
    health,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    // The pool closes after the last response, so in-flight requests keep their connections.
    exit: (code) => {
      schema.stop();
      void database
        .close()
        .catch(() => undefined)
        .finally(() => process.exit(code));
    },
  });
}

// A bad setting (also a HOST or PORT the server cannot listen on) ends start-up with one line naming the
// variables, exit 78; anything else is a crash, exit 1.
main().catch((error: unknown) => exitOnStartupError('saved-cities', error));
