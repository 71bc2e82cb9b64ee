import { capturedLogger } from './support';

// logger.test.ts covers the common shapes; these pin the rest of the coverage pino's path redaction had.
describe('log redaction', () => {
  it('censors credential headers of logged requests and responses, and secrets in child bindings', () => {
    const { logger, records } = capturedLogger();
    logger.info({
      req: {
        headers: { authorization: 'a-secret', cookie: 'b-secret', 'x-api-key': 'c-secret', accept: '*/*' },
      },
      res: { headers: { 'set-cookie': 'd-secret', 'content-type': 'text/html' } },
    });
    logger
      .child({ token: 'e-secret', upstream: { password: 'f-secret', host: 'example.org' } })
      .info('child');
    const [request, child] = records();
    expect(request?.req).toEqual({
      headers: {
        authorization: '[Redacted]',
        cookie: '[Redacted]',
        'x-api-key': '[Redacted]',
        accept: '*/*',
      },
    });
    expect(request?.res).toEqual({ headers: { 'set-cookie': '[Redacted]', 'content-type': 'text/html' } });
    expect(child).toMatchObject({
      token: '[Redacted]',
      upstream: { password: '[Redacted]', host: 'example.org' },
    });
  });

  it('censors secret fields of logged errors and of objects interpolated into the message', () => {
    const { logger, lines, records } = capturedLogger();
    logger.error({ err: Object.assign(new Error('upstream said no'), { appid: 'g-secret' }) }, 'failed');
    logger.info('config %o and %j', { api_key: 'h-secret' }, { nested: { token: 'i-secret' } });
    expect(records()[0]?.err).toMatchObject({
      message: 'upstream said no',
      appid: '[Redacted]',
      type: 'Error',
    });
    logger.child({ err: Object.assign(new Error('bound'), { token: 'k-secret' }) }).warn('child');
    expect(records()[2]?.err).toMatchObject({ message: 'bound', token: '[Redacted]', type: 'Error' });
    expect(lines().join('\n')).not.toMatch(/[a-z]-secret/);
  });

  // Own fields are what a log line holds; the prototype's (an Express request's dozens of methods) never were.
  it('censors the own fields of class instances, whatever their prototype carries', () => {
    const { logger, lines, records } = capturedLogger();
    class Upstream {
      host = 'example.org';
      password = 'l-secret';
    }
    Object.defineProperty(Upstream.prototype, 'connect', { enumerable: true, value: () => undefined });
    logger
      .child({ upstream: new Upstream() })
      .info({ res: Object.assign(new Upstream(), { token: 'm-secret' }) });
    expect(records()[0]).toMatchObject({
      upstream: { host: 'example.org', password: '[Redacted]' },
      res: { host: 'example.org', password: '[Redacted]', token: '[Redacted]' },
    });
    expect(lines().join('\n')).not.toMatch(/[a-z]-secret/);
  });

  it('leaves the caller’s objects untouched and keeps non-secret fields as they were', () => {
    const { logger, records } = capturedLogger();
    const upstream = { apiKey: 'j-secret', city: 'Oslo' };
    const logged = { upstream, attempts: 2, list: [{ token: 'not a path we cover' }] };
    logger.info(logged, 'call');
    expect(upstream.apiKey).toBe('j-secret');
    expect(logged.upstream).toBe(upstream);
    expect(records()[0]).toMatchObject({ upstream: { apiKey: '[Redacted]', city: 'Oslo' }, attempts: 2 });
  });
});
