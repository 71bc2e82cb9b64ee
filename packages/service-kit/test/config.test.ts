import { z } from 'zod';
import { baseEnvSchema, ConfigError, loadConfig } from '../src';

describe('loadConfig', () => {
  it('applies defaults for an empty environment', () => {
    expect(loadConfig(baseEnvSchema, {})).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      NODE_ENV: 'development',
      SHUTDOWN_TIMEOUT_MS: 10_000,
    });
  });

  it('treats blank values as unset', () => {
    expect(loadConfig(baseEnvSchema, { PORT: '  ', LOG_LEVEL: '' })).toMatchObject({
      PORT: 3000,
      LOG_LEVEL: 'info',
    });
  });

  it.each([
    [{ PORT: 'eighty' }, /^Invalid configuration: PORT /],
    [{ PORT: '70000' }, /^Invalid configuration: PORT /],
    [{ LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL /],
    [{ GIT_COMMIT_SHA: 'abc123' }, /^Invalid configuration: GIT_COMMIT_SHA must be a full 40-character/],
    [{ CONTENT_KEY: 'not-a-key' }, /^Invalid configuration: CONTENT_KEY must be a content key/],
    [{ BUILD_TIME: 'yesterday' }, /^Invalid configuration: BUILD_TIME must be an ISO 8601 timestamp/],
  ])('names the offending variable in one line: %o', (env, message) => {
    expect(() => loadConfig(baseEnvSchema, env)).toThrow(ConfigError);
    expect(() => loadConfig(baseEnvSchema, env)).toThrow(message);
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid configuration: PORT must be a whole number from 0 to 65535'],
    [{ PORT: '80.5' }, 'Invalid configuration: PORT must be a whole number from 0 to 65535'],
    [
      { SHUTDOWN_TIMEOUT_MS: '5s' },
      'Invalid configuration: SHUTDOWN_TIMEOUT_MS must be a whole number from 100 to 600000 milliseconds',
    ],
    [{ PORT: '70000' }, 'Invalid configuration: PORT must be from 0 to 65535'],
    [
      { HOST: 'not a host!' },
      'Invalid configuration: HOST must be an IP address or a host name, such as 0.0.0.0, :: or localhost',
    ],
    [{ EXPOSE_STACK_TRACES: 'sure' }, 'Invalid configuration: EXPOSE_STACK_TRACES must be true or false'],
    [
      { LOG_LEVEL: 'loud' },
      'Invalid configuration: LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent',
    ],
  ])('says what a variable expects, never "is required" for a value that is there: %o', (env, message) => {
    expect(() => loadConfig(baseEnvSchema, env)).toThrow(new ConfigError(message));
  });

  it('reports every bad variable at once, in one line', () => {
    expect(() =>
      loadConfig(baseEnvSchema, { PORT: 'abc', SHUTDOWN_TIMEOUT_MS: '5s', LOG_LEVEL: 'loud', HOST: '::1' }),
    ).toThrow(
      new ConfigError(
        'Invalid configuration: PORT must be a whole number from 0 to 65535; ' +
          'LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent; ' +
          'SHUTDOWN_TIMEOUT_MS must be a whole number from 100 to 600000 milliseconds',
      ),
    );
  });

  it('reads EXPOSE_STACK_TRACES strictly: off by default, and "false" is false', () => {
    expect(loadConfig(baseEnvSchema, {}).EXPOSE_STACK_TRACES).toBe(false);
    expect(loadConfig(baseEnvSchema, { NODE_ENV: 'development' }).EXPOSE_STACK_TRACES).toBe(false);
    expect(loadConfig(baseEnvSchema, { EXPOSE_STACK_TRACES: 'false' }).EXPOSE_STACK_TRACES).toBe(false);
    expect(loadConfig(baseEnvSchema, { EXPOSE_STACK_TRACES: 'true' }).EXPOSE_STACK_TRACES).toBe(true);
  });

  it('says a required variable is required, and never echoes a secret value', () => {
    const schema = z.object({ API_KEY: z.string().min(32), REGION: z.string() });
    expect(() => loadConfig(schema, { API_KEY: 'x'.repeat(32) })).toThrow(
      'Invalid configuration: REGION is required',
    );
    let message = '';
    try {
      loadConfig(schema, { API_KEY: 'short-secret-value', REGION: 'eu' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Invalid configuration: API_KEY /);
    expect(message).not.toContain('short-secret-value');
    expect(message).not.toContain('\n');
  });
});
