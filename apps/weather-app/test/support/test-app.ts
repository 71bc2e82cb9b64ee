import { Writable } from 'node:stream';
import { createLogger, HealthRegistry, resolveVersionInfo } from '@slipway/service-kit';
import { createApp, SECRET_KEYS } from '../../src/app';
import { weatherEnvSchema } from '../../src/config';
import { createWeatherModule } from '../../src/weather';

/** The real app wired as server.ts wires it, from an environment, with logs captured in memory. */
export function buildTestApp(env: Record<string, string>, options: { now?: () => number } = {}) {
  const config = weatherEnvSchema.parse({ NODE_ENV: 'production', LOG_LEVEL: 'info', ...env });
  const chunks: string[] = [];
  const logger = createLogger({
    level: config.LOG_LEVEL,
    secretKeys: SECRET_KEYS,
    destination: new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    }),
  });
  const version = resolveVersionInfo({ env: { APP_VERSION: '9.9.9', GIT_COMMIT_SHA: 'c'.repeat(40) } });
  const health = new HealthRegistry({ version: version.version, releaseId: version.commit });
  const weather = createWeatherModule(config, { ...options, logger });
  const app = createApp({ logger, version, health, weather, exposeStackTraces: config.EXPOSE_STACK_TRACES });
  return { app, weather, health, logger, logs: () => chunks.join('') };
}
