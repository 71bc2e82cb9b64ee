import autocannon from 'autocannon';
import { OpenWeatherStub } from '../support/openweather-stub';
import { FORM_HEADERS, startAppAgainstStub, type AppUnderTest } from './app-under-test';

const LOAD_SECONDS = 30;

describe('30 s of load at 50 connections on the mixed routes', () => {
  let stub: OpenWeatherStub;
  let target: AppUnderTest;

  beforeAll(async () => {
    stub = await new OpenWeatherStub().start();
    // A 1 s TTL keeps cache misses, coalesced upstream calls and refreshes happening throughout the run.
    target = await startAppAgainstStub(stub, { WEATHER_CACHE_TTL_SECONDS: '1' });
  });

  afterAll(async () => {
    await target?.app.stop();
    await stub?.stop();
  });

  it('answers every request with the expected status, no errors, and keeps running', async () => {
    const url = target.app.url;
    // One autocannon instance per group, so each group's status codes can be checked on their own.
    const groups = {
      health: { connections: 10, statuses: ['200'], requests: [{ method: 'GET', path: '/health' }] },
      json: {
        connections: 15,
        statuses: ['200'],
        requests: [
          { method: 'GET', path: '/api/weather?city=London' },
          { method: 'GET', path: '/api/weather?city=Tokyo&units=metric' },
          { method: 'GET', path: '/api/weather?city=S%C3%A3o%20Paulo' },
        ],
      },
      html: {
        connections: 15,
        statuses: ['200'],
        requests: [
          { method: 'GET', path: '/' },
          { method: 'POST', path: '/weather', headers: FORM_HEADERS, body: 'city=Paris&units=metric' },
        ],
      },
      // Expected non-2xx: an unknown city (upstream 404, never cached) and bad input.
      rejected: {
        connections: 10,
        statuses: ['400', '404'],
        requests: [
          { method: 'GET', path: '/api/weather?city=Atlantis' },
          { method: 'GET', path: '/api/weather?city=London&city=Paris' },
          { method: 'POST', path: '/weather', headers: FORM_HEADERS, body: 'city=' },
        ],
      },
    };
    const results = await Promise.all(
      Object.entries(groups).map(async ([name, group]) => {
        const result = await autocannon({
          url,
          connections: group.connections,
          duration: LOAD_SECONDS,
          requests: group.requests,
        });
        return { name, expected: group.statuses, result };
      }),
    );

    for (const { name, expected, result } of results) {
      const statuses = Object.keys(result.statusCodeStats).sort();
      expect({ name, statuses, errors: result.errors, timeouts: result.timeouts }).toEqual({
        name,
        statuses: expected,
        errors: 0,
        timeouts: 0,
      });
    }
    expect(results.reduce((sum, { result }) => sum + result.requests.average, 0)).toBeGreaterThan(0);
    expect(stub.received.length).toBeGreaterThan(0);
    expect(target.app.child.exitCode).toBeNull();
    expect(target.logs.errors).toEqual([]);
    expect(target.logs.notJson).toEqual([]);
    expect(target.logs.leaks).toEqual([]);
    expect(target.logs.lineCount).toBeGreaterThan(0);
  });
});
