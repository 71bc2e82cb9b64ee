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
