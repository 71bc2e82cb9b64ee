import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnvSchema, ConfigError, loadConfig } from '@slipway/service-kit';
import { savedCitiesEnvSchema } from '../../src/config';
import { readOwnManifest } from '../../src/manifest';

describe('saved-cities configuration', () => {
  it('defaults to the embedded database on port 3001', () => {
    const config = loadConfig(savedCitiesEnvSchema, {});
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.PORT).toBe(3001);
    expect(config.DATABASE_POOL_MAX).toBe(10);
  });

  it('accepts postgres:// and postgresql:// URLs', () => {
    for (const url of ['postgres://u:p@db:5432/app', 'postgresql://u@db/app?sslmode=require']) {
      expect(loadConfig(savedCitiesEnvSchema, { DATABASE_URL: url }).DATABASE_URL).toBe(url);
    }
  });

  it('names a bad DATABASE_URL without echoing it (it carries a password)', () => {
    for (const url of ['mysql://u:s3cret-pw@db/app', 'postgres://u:s3cret-pw@', 'not a url s3cret-pw']) {
      let message = '';
      try {
        loadConfig(savedCitiesEnvSchema, { DATABASE_URL: url });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(
        'Invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// connection URL',
      );
    }
  });

  it.each([
    ['DATABASE_POOL_MAX', '0'],
    ['DATABASE_IDLE_TIMEOUT_MS', '5s'],
    ['DATABASE_CONNECT_TIMEOUT_MS', '10'],
    ['DATABASE_QUERY_TIMEOUT_MS', '1.5'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig(savedCitiesEnvSchema, { [name]: value })).toThrow(name);
  });

  // The chassis's rules and words, as the weather-app and a generated service say them: digits only, so
  // neither hex, an exponent nor a word is read as a number, and nothing says "is required" when it was set.
  it.each([
    ['PORT', 'abc', 'PORT must be a whole number from 0 to 65535'],
    ['PORT', '0x9c47', 'PORT must be a whole number from 0 to 65535'],
    ['PORT', '4e4', 'PORT must be a whole number from 0 to 65535'],
    ['PORT', '70000', 'PORT must be from 0 to 65535'],
    ['DATABASE_POOL_MAX', 'abc', 'DATABASE_POOL_MAX must be a whole number from 1 to 100 connections'],
    ['DATABASE_POOL_MAX', '0', 'DATABASE_POOL_MAX must be from 1 to 100 connections'],
    [
      'DATABASE_QUERY_TIMEOUT_MS',
      '1e4',
      'DATABASE_QUERY_TIMEOUT_MS must be a whole number from 100 to 600000 milliseconds',
    ],
  ])('says %s=%s in plain words, as the chassis does', (name, value, reason) => {
    expect(() => loadConfig(savedCitiesEnvSchema, { [name]: value })).toThrow(
      new ConfigError(`Invalid configuration: ${reason}`),
    );
    if (name === 'PORT') {
      expect(() => loadConfig(baseEnvSchema, { PORT: value })).toThrow(`Invalid configuration: ${reason}`);
    }
  });
});

describe("the app's declaration (package.json slipway)", () => {
  it('names DATABASE_URL as its secret, for the logger to redact and gitlab setup to store', () => {
    expect(readOwnManifest().secretKeys).toEqual(['DATABASE_URL']);
  });

  it('declares every variable its schema reads beyond the chassis, and no other', () => {
    const own = Object.keys(savedCitiesEnvSchema.shape).filter((name) => !(name in baseEnvSchema.shape));
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      slipway: { variables: Record<string, unknown> };
    };
    expect(Object.keys(manifest.slipway.variables).sort()).toEqual(own.sort());
  });
});
