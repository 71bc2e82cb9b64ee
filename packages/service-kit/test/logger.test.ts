import { redactUrl } from '../src';
import { capturedLogger } from './support';

describe('logger', () => {
  it('writes JSON lines with an ISO time and a textual level', () => {
    const { logger, records } = capturedLogger();
    logger.info({ city: 'London' }, 'hello');
    expect(records()[0]).toMatchObject({ level: 'info', msg: 'hello', city: 'London' });
    expect(String(records()[0]?.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('redacts credentials wherever our log objects carry them', () => {
    const { logger, lines } = capturedLogger();
    logger.info({
      appid: 'k1-secret',
      upstream: { appid: 'k2-secret', apiKey: 'k3-secret', token: 'k4-secret' },
    });
    logger.info({ req: { headers: { authorization: 'Bearer k5-secret', cookie: 'sid=k6-secret' } } });
    logger.info({ config: { OPENWEATHER_API_KEY: 'k7-secret' } });
    const text = lines().join('\n');
    expect(text).not.toMatch(/k\d-secret/);
    expect(text).toContain('[Redacted]');
  });

  it('redacts credential query parameters from URLs', () => {
    expect(redactUrl('/api/weather?city=London&appid=abc123&units=metric')).toBe(
      '/api/weather?city=London&appid=[Redacted]&units=metric',
    );
    expect(redactUrl('/x?TOKEN=t&api_key=k#frag')).toBe('/x?TOKEN=[Redacted]&api_key=[Redacted]#frag');
    expect(redactUrl('/plain')).toBe('/plain');
  });
});
