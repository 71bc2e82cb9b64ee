import { createUrlRedactor, redactUrl } from '../src';
import { capturedLogger } from './support';

describe('logger', () => {
  it('writes JSON lines with an ISO time and a textual level', () => {
    const { logger, records } = capturedLogger();
    logger.info({ city: 'London' }, 'hello');
    expect(records()[0]).toMatchObject({ level: 'info', msg: 'hello', city: 'London' });
    expect(String(records()[0]?.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  // The time is formatted once per millisecond; each line still carries the millisecond it was written in.
  it('stamps every line with the current millisecond', () => {
    const now = jest.spyOn(Date, 'now');
    try {
      const { logger, records } = capturedLogger();
      now.mockReturnValue(Date.parse('2026-11-29T12:00:00.123Z'));
      logger.info('first');
      logger.info('same millisecond');
      now.mockReturnValue(Date.parse('2026-11-29T12:00:00.124Z'));
      logger.info('next millisecond');
      expect(records().map((record) => record.time)).toEqual([
        '2026-11-29T12:00:00.123Z',
        '2026-11-29T12:00:00.123Z',
        '2026-11-29T12:00:00.124Z',
      ]);
    } finally {
      now.mockRestore();
    }
  });

  it('redacts credentials wherever our log objects carry them', () => {
    const { logger, lines } = capturedLogger();
    logger.info({
      appid: 'k1-secret',
      upstream: { appid: 'k2-secret', apiKey: 'k3-secret', token: 'k4-secret' },
    });
    logger.info({ req: { headers: { authorization: 'Bearer k5-secret', cookie: 'sid=k6-secret' } } });
    logger.info({ config: { Password: 'k7-secret', API_KEY: 'k8-secret' } });
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

  it('redacts every spelling of a secret query name: case, dashes and percent-encoding', () => {
    expect(redactUrl('/API/weather?city=Rome&api-key=s1&API%2DKEY=s2&Key=s3&x-api-key=s4&sig=s5')).toBe(
      '/API/weather?city=Rome&api-key=[Redacted]&API%2DKEY=[Redacted]&Key=[Redacted]&x-api-key=[Redacted]&sig=[Redacted]',
    );
    expect(redactUrl('/x?city=key&keyboard=1')).toBe('/x?city=key&keyboard=1');
  });

  it('redacts the service’s own secret names given as secretKeys, and only the service that names them', () => {
    const { logger, lines } = capturedLogger('info', ['OPENWEATHER_API_KEY', 'DB_PASSWORD']);
    logger.info({ config: { OPENWEATHER_API_KEY: 's1-secret' }, db_password: 's2-secret', city: 'Oslo' });
    logger.child({ OPENWEATHER_API_KEY: 's3-secret' }).info('child');
    expect(lines().join('\n')).not.toMatch(/s\d-secret/);
    expect(lines()[0]).toContain('Oslo');

    const other = capturedLogger();
    other.logger.info({ config: { OPENWEATHER_API_KEY: 'not-a-secret-here' } });
    expect(other.lines()[0]).toContain('not-a-secret-here');

    expect(createUrlRedactor(['session_ref'])('/x?Session_Ref=s4&appid=s5&q=1')).toBe(
      '/x?Session_Ref=[Redacted]&appid=[Redacted]&q=1',
    );
  });
});
