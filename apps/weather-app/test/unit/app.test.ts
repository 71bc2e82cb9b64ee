import request from 'supertest';
import { OpenWeatherStub, STUB_API_KEY } from '../support/openweather-stub';
import { createLogger, HealthRegistry, resolveVersionInfo } from '@slipway/service-kit';
import { createApp } from '../../src/app';
import { weatherEnvSchema } from '../../src/config';
import { createWeatherModule, type WeatherProvider } from '../../src/weather';
import { buildTestApp } from '../support/test-app';

describe('weather-app in demo mode (no API key)', () => {
  const { app } = buildTestApp({});

  it('serves the city form and says plainly that the data is demo data', async () => {
    const res = await request(app).get('/').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<form method="post" action="/weather">');
    expect(res.text).toContain('name="city"');
    expect(res.text).toContain('Demo data.');
  });

  it('renders the weather page for a form post', async () => {
    const res = await request(app).post('/weather').type('form').send({ city: 'London' }).expect(200);
    expect(res.text).toContain('Weather Information for London, GB');
    expect(res.text).toContain('<dd id="temperature">49 °F</dd>');
    expect(res.text).toContain('<dd id="humidity">81%</dd>');
    expect(res.text).toContain('<dd id="description">light rain</dd>');
    expect(res.text).toContain('Demo data.');
  });

  it('answers the JSON API with the same data, in either unit system', async () => {
    const imperial = await request(app).get('/api/weather').query({ city: 'London' }).expect(200);
    expect(imperial.headers['content-type']).toMatch(/^application\/json/);
    expect(imperial.body).toMatchObject({
      city: 'London',
      country: 'GB',
      temperature: 49,
      temperatureUnit: '°F',
      humidity: 81,
    });
    expect(imperial.body).toMatchObject({
      description: 'light rain',
      units: 'imperial',
      source: 'demo',
      demo: true,
      stale: false,
    });
    const metric = await request(app)
      .get('/api/weather')
      .query({ city: 'london', units: 'metric' })
      .expect(200);
    expect(metric.body).toMatchObject({ temperature: 9, temperatureUnit: '°C' });
  });

  it('finds demo cities regardless of case and accents, with an optional country code', async () => {
    await request(app).get('/api/weather').query({ city: 'sao paulo' }).expect(200);
    await request(app).get('/api/weather').query({ city: 'ZÜRICH,ch' }).expect(200);
    await request(app).get('/api/weather').query({ city: 'Paris,US' }).expect(404);
  });

  it.each([
    ['an empty city', '', /Please enter a city name/],
    ['only spaces', '   ', /Please enter a city name/],
    ['a city over 100 characters', 'x'.repeat(101), /at most 100 characters/],
    ['a control character', 'Lon\u0000don', /control characters/],
    ['a newline', 'London\nSet-Cookie: x', /control characters/],
  ])('rejects %s with 400 problem+json', async (_what, city, detail) => {
    const res = await request(app).get('/api/weather').query({ city }).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    // The one problem type for bad input, in both apps and the chassis (docs/services.md).
    expect(res.body.type).toBe('tag:slipway,2026:problem:invalid-request');
    expect(res.body.detail).toMatch(detail);
  });

  it('accepts exactly 100 characters', async () => {
    await request(app)
      .get('/api/weather')
      .query({ city: 'x'.repeat(100) })
      .expect(404);
  });

  it('rejects a missing city, a repeated city and unknown units', async () => {
    await request(app).get('/api/weather').expect(400);
    const repeated = await request(app).get('/api/weather?city=London&city=Paris').expect(400);
    expect(repeated.body.detail).toBe('Give the city once.');
    const units = await request(app)
      .get('/api/weather')
      .query({ city: 'London', units: 'kelvin' })
      .expect(400);
    expect(units.body.detail).toBe('units must be one of: imperial, metric.');
  });

  it('answers a bad form post with an HTML error page that still offers the form', async () => {
    const res = await request(app).post('/weather').type('form').send({ city: '' }).expect(400);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('Please enter a city name.');
    expect(res.text).toContain('name="city"');
  });

  it('escapes everything it echoes into HTML', async () => {
    const res = await request(app)
      .post('/weather')
      .type('form')
      .send({ city: '<script>alert(1)</script>"\'&' })
      .expect(404);
    expect(res.text).not.toContain('<script>alert(1)</script>');
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
  });

  it.each([
    [
      'a real city outside the sample set',
      () => request(app).post('/weather').type('form').send({ city: 'Rome' }),
      404,
    ],
    ['a bad form post', () => request(app).post('/weather').type('form').send({ city: '' }), 400],
    ['a path that does not exist', () => request(app).get('/no/such/page').set('accept', 'text/html'), 404],
  ])('labels the error page for %s as demo mode and lists the demo cities', async (_what, send, status) => {
    const res = await send().expect(status);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('Demo data.');
    expect(res.text).toContain('Demo mode knows these cities only: London, Paris, Berlin');
  });

  it('tells a city outside the sample set that demo mode knows only the listed cities, not to check the spelling', async () => {
    const res = await request(app).get('/api/weather').query({ city: 'Rome' }).expect(404);
    expect(res.body.detail).toMatch(
      /^Demo mode knows only these cities: London, Paris, .*Zürich\. "Rome" is not one of them/,
    );
    expect(res.body.detail).not.toContain('spelling');
  });

  it('reports the demo provider as a passing health check', async () => {
    const res = await request(app).get('/health').expect(200);
    expect(res.body.checks['demo:responses'][0]).toMatchObject({
      status: 'pass',
      output: 'embedded demo provider',
    });
  });
});

describe('weather-app with OpenWeather (loopback stub)', () => {
  const stub = new OpenWeatherStub();
  beforeAll(() => stub.start());
  afterAll(() => stub.stop());
  beforeEach(() => {
    stub.behaviour = { kind: 'ok' };
    stub.received.length = 0;
  });

  function appWithStub(extra: Record<string, string> = {}) {
    return buildTestApp({
      OPENWEATHER_API_KEY: STUB_API_KEY,
      OPENWEATHER_BASE_URL: stub.url,
      // Generous: on a loaded CI runner a healthy loopback call can take hundreds of ms. Only the timeout
      // case below relies on the timeout, with an upstream far slower than it.
      OPENWEATHER_TIMEOUT_MS: '2000',
      ...extra,
    });
  }

  it('uses OpenWeather when a key is set, and does not label the data as demo', async () => {
    const { app } = appWithStub();
    const res = await request(app).get('/api/weather').query({ city: 'London' }).expect(200);
    expect(res.body).toMatchObject({ source: 'openweather', demo: false, temperature: 53 });
    const page = await request(app).post('/weather').type('form').send({ city: 'London' }).expect(200);
    expect(page.text).not.toContain('Demo data.');
  });

  it.each([
    ['city not found', { kind: 'ok' }, 'Atlantis', 404, undefined],
    ['upstream 401', { kind: 'status', status: 401 }, 'London', 502, undefined],
    ['upstream 429', { kind: 'status', status: 429, headers: { 'retry-after': '30' } }, 'London', 503, '30'],
    ['upstream 500', { kind: 'status', status: 500 }, 'London', 502, undefined],
    ['upstream timeout', { kind: 'slow', delayMs: 30_000 }, 'London', 504, undefined],
    ['malformed upstream JSON', { kind: 'malformed' }, 'London', 502, undefined],
    ['connection reset', { kind: 'reset' }, 'London', 502, undefined],
  ] as const)(
    'maps %s to %i, for the API and the page, and stays healthy',
    async (_case, behaviour, city, status, retryAfter) => {
      const { app, logs } = appWithStub();
      stub.behaviour = behaviour;
      const api = await request(app).get('/api/weather').query({ city }).expect(status);
      expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(api.headers['retry-after']).toBe(retryAfter);
      const page = await request(app).post('/weather').type('form').send({ city }).expect(status);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const health = await request(app).get('/health').expect(200);
      expect(health.body.status).toBe(status === 404 ? 'pass' : 'warn');
      await request(app).get('/health/ready').expect(200);
      for (const text of [JSON.stringify(api.body), page.text, JSON.stringify(health.body), logs()]) {
        expect(text).not.toContain(STUB_API_KEY);
      }
    },
  );

  it('never writes the key to logs, even when a client sends appid in the query', async () => {
    const { app, logs } = appWithStub({ LOG_LEVEL: 'trace' });
    await request(app).get(`/api/weather?city=London&appid=${STUB_API_KEY}`).expect(200);
    stub.behaviour = { kind: 'status', status: 401 };
    await request(app).get('/api/weather').query({ city: 'Paris' }).expect(502);
    expect(logs()).toContain('/api/weather?city=London&appid=[Redacted]');
    expect(logs()).not.toContain(STUB_API_KEY);
  });

  it('declares OPENWEATHER_API_KEY to the chassis, which censors it in log objects and query strings', async () => {
    const { app, logger, logs } = appWithStub();
    logger.info({ config: { OPENWEATHER_API_KEY: STUB_API_KEY } }, 'config');
    await request(app).get(
      `/API/weather?city=Oslo&api-key=${STUB_API_KEY}&openweather_api_key=x${STUB_API_KEY}`,
    );
    expect(logs()).toContain('"OPENWEATHER_API_KEY":"[Redacted]"');
    expect(logs()).toContain('api-key=[Redacted]');
    expect(logs()).not.toContain(STUB_API_KEY);
  });

  it('answers problem+json under /API in any case, like /api', async () => {
    const { app } = appWithStub();
    stub.behaviour = { kind: 'status', status: 500 };
    for (const path of ['/api/weather', '/API/weather', '/Api/Weather']) {
      const res = await request(app).get(path).query({ city: 'Oslo' }).set('accept', 'text/html').expect(502);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('logs an expected upstream failure as ONE warn line with the mapped status and the cause', async () => {
    const { app, logs } = appWithStub();
    stub.behaviour = { kind: 'status', status: 500 };
    await request(app)
      .get('/api/weather')
      .query({ city: 'Oslo' })
      .set('x-request-id', 'one-line')
      .expect(502);
    const lines = logs()
      .split('\n')
      .filter((line) => line.includes('one-line'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      msg: 'request failed',
      res: { statusCode: 502 },
      problem: { type: 'upstream-unavailable', status: 502, cause: 'HTTP 500' },
    });
    expect(logs()).not.toMatch(/"stack"|node_modules|"type":"Object"/);
  });

  it.each([
    ['dt: 1e300', { dt: 1e300 }],
    ['humidity 1000', { main: { temp: 50, humidity: 1000 } }],
  ])('answers an out-of-range field (%s) with 502 upstream-malformed, never 500', async (_what, fields) => {
    const { app } = appWithStub();
    stub.behaviour = {
      kind: 'status',
      status: 200,
      body: JSON.stringify({ name: 'Oslo', main: { temp: 50, humidity: 50 }, weather: [], ...fields }),
    };
    const res = await request(app).get('/api/weather').query({ city: 'Oslo' }).expect(502);
    expect(res.body.type).toBe('tag:slipway,2026:problem:upstream-malformed');
  });

  it('renders a partial reading without dangling punctuation, naming the city the user typed', async () => {
    const { app } = appWithStub();
    stub.behaviour = {
      kind: 'status',
      status: 200,
      body: JSON.stringify({ name: '', sys: {}, main: { temp: 50.2 }, weather: [] }),
    };
    const page = await request(app).post('/weather').type('form').send({ city: 'Springfield' }).expect(200);
    expect(page.text).toContain('<h1>Weather Information for Springfield</h1>');
    expect(page.text).toContain('<dd id="temperature">50 °F</dd>');
    expect(page.text).toContain('<dd id="humidity"><span class="missing">not reported</span></dd>');
    expect(page.text).toContain('<dd id="description"><span class="missing">not reported</span></dd>');
    expect(page.text).not.toMatch(/Springfield, <|, <\/h1>|null|undefined|NaN| %</);
    const api = await request(app).get('/api/weather').query({ city: 'Springfield' }).expect(200);
    expect(api.body).toMatchObject({ city: 'Springfield', country: '', humidity: null, description: null });
  });

  it('remembers "not found" briefly: repeated unknown cities make one upstream call', async () => {
    const { app } = appWithStub();
    for (let i = 0; i < 5; i += 1)
      await request(app).get('/api/weather').query({ city: 'Atlantis' }).expect(404);
    expect(stub.received).toHaveLength(1);
  });

  it('limits lookups per client when WEATHER_RATE_LIMIT_PER_MINUTE is set, with a 429 problem', async () => {
    const { app } = appWithStub({ WEATHER_RATE_LIMIT_PER_MINUTE: '3' });
    // Behind a proxy: the forwarded-for header is ignored (trust proxy is off), and nothing is written
    // outside the JSON log about it.
    const consoleError = jest.spyOn(console, 'error');
    const lookup = () =>
      request(app).get('/api/weather').query({ city: 'London' }).set('x-forwarded-for', '203.0.113.9');
    try {
      for (let i = 0; i < 3; i += 1) await lookup().expect(200);
      const limited = await lookup().expect(429);
      expect(limited.body).toMatchObject({ type: 'tag:slipway,2026:problem:rate-limited', status: 429 });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      await request(app).post('/weather').type('form').send({ city: 'London' }).expect(429);
      expect(stub.received).toHaveLength(1);
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      consoleError.mockRestore();
    }
  });

  it.each([
    [{ NODE_ENV: 'development' }, false],
    [{ NODE_ENV: 'production' }, false],
    [{ NODE_ENV: 'development', EXPOSE_STACK_TRACES: 'true' }, true],
  ])('shows an unexpected error’s stack only when asked for: %o', async (env, shown) => {
    const config = weatherEnvSchema.parse(env);
    const broken: WeatherProvider = {
      source: 'openweather',
      getCurrentWeather: () => Promise.reject(new TypeError('provider bug')),
    };
    const app = createApp({
      logger: createLogger({ level: 'silent' }),
      version: resolveVersionInfo({ env: {} }),
      weather: createWeatherModule(config, { provider: broken }),
      health: new HealthRegistry({ version: '0', releaseId: '0' }),
      exposeStackTraces: config.EXPOSE_STACK_TRACES,
    });
    const res = await request(app).get('/api/weather').query({ city: 'Oslo' }).expect(500);
    expect(/provider bug\n\s+at /.test(String(res.body.detail))).toBe(shown);
    if (!shown) expect(res.body.detail).toBe('Something went wrong on our side.');
  });

  it('coalesces 100 concurrent identical misses into 1 upstream call', async () => {
    const { app, weather } = appWithStub();
    stub.behaviour = { kind: 'slow', delayMs: 150 };
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => request(app).get('/api/weather').query({ city: 'London' })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    expect(stub.received).toHaveLength(1);
    expect(weather.upstreamCallCount).toBe(1);
    const next = await request(app).get('/api/weather').query({ city: 'London' }).expect(200);
    expect(next.headers['x-cache']).toBe('hit');
    expect(stub.received).toHaveLength(1);
  });

  it('caches per (city, units) until the TTL expires', async () => {
    let now = Date.parse('2026-11-29T12:00:00Z');
    const { app } = buildTestApp(
      { OPENWEATHER_API_KEY: STUB_API_KEY, OPENWEATHER_BASE_URL: stub.url, WEATHER_CACHE_TTL_SECONDS: '600' },
      { now: () => now },
    );
    const get = (units: string) => request(app).get('/api/weather').query({ city: 'London', units });
    expect((await get('imperial')).headers['x-cache']).toBe('miss');
    expect((await get('metric')).headers['x-cache']).toBe('miss');
    now += 599_000;
    expect((await get('imperial')).headers['x-cache']).toBe('hit');
    expect(stub.received).toHaveLength(2);
    now += 2_000;
    expect((await get('imperial')).headers['x-cache']).toBe('miss');
    expect(stub.received).toHaveLength(3);
  });

  it('serves a stale entry when upstream fails, for a while, and says so', async () => {
    let now = Date.parse('2026-11-29T12:00:00Z');
    const { app, logs } = buildTestApp(
      {
        OPENWEATHER_API_KEY: STUB_API_KEY,
        OPENWEATHER_BASE_URL: stub.url,
        WEATHER_CACHE_TTL_SECONDS: '60',
        WEATHER_STALE_IF_ERROR_SECONDS: '600',
      },
      { now: () => now },
    );
    await request(app).get('/api/weather').query({ city: 'London' }).expect(200);
    now += 120_000;
    stub.behaviour = { kind: 'status', status: 500 };
    const stale = await request(app).get('/api/weather').query({ city: 'London' }).expect(200);
    expect(stale.headers['x-cache']).toBe('stale');
    // The failure a stale answer hides is still logged: once, at warn, with its cause.
    const staleLines = logs()
      .split('\n')
      .filter((line) => line.includes('stale-if-error'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(staleLines).toEqual([
      expect.objectContaining({
        level: 'warn',
        problem: { type: 'upstream-unavailable', status: 502, cause: 'HTTP 500' },
        city: 'London',
      }),
    ]);
    expect(stale.body).toMatchObject({ city: 'London', stale: true });
    const page = await request(app).post('/weather').type('form').send({ city: 'London' }).expect(200);
    expect(page.text).toContain('this is the last reading we have');
    expect((await request(app).get('/health').expect(200)).body.status).toBe('warn');

    now += 600_000; // past TTL + stale-if-error: the error shows
    await request(app).get('/api/weather').query({ city: 'London' }).expect(502);

    stub.behaviour = { kind: 'ok' };
    await request(app).get('/api/weather').query({ city: 'London' }).expect(200);
    expect((await request(app).get('/health').expect(200)).body.status).toBe('pass');
  });
});
