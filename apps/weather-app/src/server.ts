import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createLogger,
  exitOnStartupError,
  HealthRegistry,
  loadConfigOrExit,
  resolveVersionInfo,
  startServer,
} from '@slipway/service-kit';
import { createApp, SECRET_KEYS } from './app';
import { startupMessage, weatherEnvSchema } from './config';
import { createWeatherModule } from './weather';

async function main(): Promise<void> {
  const config = loadConfigOrExit(weatherEnvSchema);
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'weather-app', secretKeys: SECRET_KEYS });
  // Read at run time: package.json sits outside tsc's rootDir, next to dist/ in the image too.
  const { version: packageVersion } = JSON.parse(
    readFileSync(join(__dirname, '..', 'package.json'), 'utf8'),
  ) as {
    version: string;
  };
  const version = resolveVersionInfo({ env: config, packageVersion, cwd: __dirname });
  const health = new HealthRegistry({
    version: version.version,
    releaseId: version.commit,
    serviceId: 'weather-app',
  });
  const app = createApp({
    logger,
    version,
    health,
    weather: createWeatherModule(config, { logger }),
    exposeStackTraces: config.EXPOSE_STACK_TRACES,
  });

  logger.info(
    {
      provider: config.WEATHER_PROVIDER,
      version: version.version,
      commit: version.commit,
      node: process.version,
    },
    startupMessage(config),
  );
  await startServer(app, {
    port: config.PORT,
    host: config.HOST,
    logger,
    health,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
  });
}

// A bad setting (also a HOST or PORT the server cannot listen on) ends start-up with one line naming the
// variables, exit 78; anything else is a crash, exit 1.
main().catch((error: unknown) => exitOnStartupError('weather-app', error));
