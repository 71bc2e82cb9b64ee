import { CityNotFoundError, UpstreamError } from '../../src/weather/weather-report';
import { parseCity } from '../../src/weather/city-input';
import {
  MAX_UPSTREAM_BODY_BYTES,
  OpenWeatherClient,
  RETRY_AFTER_MAX_SECONDS,
  retryAfterSeconds,
} from '../../src/weather/openweather-client';
import { closedPort, OpenWeatherStub, STUB_API_KEY } from '../support/openweather-stub';

describe('OpenWeatherClient against a loopback OpenWeather stub', () => {
  const stub = new OpenWeatherStub();
  let client: OpenWeatherClient;
  let now = Date.parse('2026-11-29T12:00:00Z');

  beforeAll(() => stub.start());
  afterAll(() => stub.stop());
  beforeEach(() => {
    stub.behaviour = { kind: 'ok' };
    stub.received.length = 0;
    // Generous, so a loaded CI runner never turns a healthy call into a timeout; the timeout test sets its own.
    now = Date.parse('2026-11-29T12:00:00Z');
    client = new OpenWeatherClient({
      apiKey: STUB_API_KEY,
      baseUrl: stub.url,
      timeoutMs: 2000,
      now: () => now,
    });
  });
  afterEach(() => client.close());

  /** A 200 whose body is `reading` merged over a complete, valid answer (undefined removes a field). */
  function answerWith(reading: Record<string, unknown>) {
    const complete = {
      name: 'London',
      sys: { country: 'GB' },
      main: { temp: 52.7, humidity: 82 },
      weather: [{ description: 'light rain' }],
      dt: 1_763_800_000,
    };
    stub.behaviour = { kind: 'status', status: 200, body: JSON.stringify({ ...complete, ...reading }) };
  }

  async function failure(city = 'London'): Promise<UpstreamError | CityNotFoundError> {
    try {
      await client.getCurrentWeather(parseCity(city), 'imperial');
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(STUB_API_KEY);
      expect(JSON.stringify(error)).not.toContain(STUB_API_KEY);
      return error as UpstreamError;
    }
    throw new Error('expected the lookup to fail');
  }

  it('calls /data/2.5/weather with q, appid and units, and maps the answer', async () => {
    const report = await client.getCurrentWeather(parseCity('London'), 'imperial');
    expect(report).toMatchObject({
      city: 'London',
      country: 'GB',
      temperature: 53, // 11.5 °C = 52.7 °F, rounded to a whole degree
      temperatureUnit: '°F',
      humidity: 82,
      description: 'light rain',
      units: 'imperial',
      source: 'openweather',
    });
    expect(stub.received).toHaveLength(1);
    expect(stub.received[0]?.path).toBe('/data/2.5/weather');
    expect(Object.fromEntries(stub.received[0]!.query)).toEqual({
      q: 'London',
      appid: STUB_API_KEY,
      units: 'imperial',
    });
  });

  it('asks for metric units when told to', async () => {
    const report = await client.getCurrentWeather(parseCity('London'), 'metric');
    expect(report).toMatchObject({ temperature: 12, temperatureUnit: '°C' });
    expect(stub.received[0]?.query.get('units')).toBe('metric');
  });

  it('cannot be made to inject parameters: the whole input is one q value', async () => {
    await client.getCurrentWeather(parseCity('London&appid=x&units=standard#frag'), 'imperial');
    const query = stub.received[0]!.query;
    expect(query.getAll('q')).toEqual(['London&appid=x&units=standard#frag']);
    expect(query.getAll('appid')).toEqual([STUB_API_KEY]);
    expect(query.getAll('units')).toEqual(['imperial']);
  });

  it('sends unicode cities intact', async () => {
    const report = await client.getCurrentWeather(parseCity('Zürich'), 'metric');
    expect(stub.received[0]?.query.get('q')).toBe('Zürich');
    expect(stub.received[0]?.rawQuery).toContain('q=Z%C3%BCrich');
    expect(report.city).toBe('Zürich');
    await client.getCurrentWeather(parseCity('東京'), 'metric');
    expect(stub.received[1]?.query.get('q')).toBe('東京');
  });

  it('maps 404 to city not found', async () => {
    const error = await failure('Atlantis');
    expect(error).toBeInstanceOf(CityNotFoundError);
    expect(error.status).toBe(404);
  });

  it('maps a rejected key (401) to 502 without saying the key', async () => {
    await client.close();
    client = new OpenWeatherClient({ apiKey: 'wrong-key-abcdef', baseUrl: stub.url, timeoutMs: 2000 });
    const error = await failure();
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/rejected our credentials/);
    expect(error.message).not.toContain('wrong-key-abcdef');
  });

  it('maps 429 to 503, passes Retry-After on, and makes no upstream call for anyone until it has passed', async () => {
    stub.behaviour = { kind: 'status', status: 429, headers: { 'retry-after': '17' } };
    const error = await failure();
    expect(error.status).toBe(503);
    expect(error.options.headers).toEqual({ 'retry-after': '17' });

    stub.behaviour = { kind: 'ok' };
    now += 5_000;
    const refused = await failure('Paris');
    expect(refused.options).toMatchObject({
      type: 'upstream-rate-limited',
      headers: { 'retry-after': '12' },
    });
    expect(stub.received).toHaveLength(1);

    now += 12_000;
    await client.getCurrentWeather(parseCity('Paris'), 'metric');
    expect(stub.received).toHaveLength(2);
  });

  it('uses a sane Retry-After when upstream gives none, and clamps absurd ones', async () => {
    stub.behaviour = { kind: 'status', status: 429 };
    expect((await failure()).options.headers).toEqual({ 'retry-after': '60' });
    now += 60_000;
    stub.behaviour = { kind: 'status', status: 429, headers: { 'retry-after': '99999999999' } };
    expect((await failure()).options.headers).toEqual({ 'retry-after': String(RETRY_AFTER_MAX_SECONDS) });
  });

  it.each([
    ['17', 17],
    ['0', 1],
    ['99999999999', RETRY_AFTER_MAX_SECONDS],
    ['-5', 60],
    ['soon', 60],
    ['1e3', 60],
    ['Sun, 29 Nov 2026 12:02:00 GMT', 120],
    ['Sun, 29 Nov 2027 12:00:00 GMT', RETRY_AFTER_MAX_SECONDS],
    ['Sat, 28 Nov 2026 12:00:00 GMT', 1],
  ])('reads Retry-After %p as %p s', (header, seconds) => {
    expect(retryAfterSeconds(header, Date.parse('2026-11-29T12:00:00Z'))).toBe(seconds);
  });

  it('maps 500 to 502, with no second call', async () => {
    stub.behaviour = { kind: 'status', status: 500 };
    const error = await failure();
    expect(error.status).toBe(502);
    expect(error.message).toContain('HTTP 500');
    expect(stub.received).toHaveLength(1);
  });

  it('gives up after the timeout with 504', async () => {
    await client.close();
    client = new OpenWeatherClient({ apiKey: STUB_API_KEY, baseUrl: stub.url, timeoutMs: 300 });
    stub.behaviour = { kind: 'slow', delayMs: 30_000 };
    const error = await failure();
    expect(error.status).toBe(504);
    expect(error.message).toContain('300 ms');
    expect(stub.received).toHaveLength(1);
  });

  it('maps malformed JSON, and JSON of the wrong shape, to 502', async () => {
    stub.behaviour = { kind: 'malformed' };
    expect((await failure()).options.type).toBe('upstream-malformed');
    stub.behaviour = { kind: 'status', status: 200, body: '{"name":"London","main":{"temp":"warm"}}' };
    expect((await failure()).options.type).toBe('upstream-malformed');
  });

  it.each<[string, Record<string, unknown>]>([
    ['dt: 1e300', { dt: 1e300 }],
    ['dt in the year 1970', { dt: 1000 }],
    ['dt a week ahead', { dt: Date.parse('2026-12-06T12:00:00Z') / 1000 }],
    ['dt not a whole second', { dt: 1_763_800_000.5 }],
    ['humidity 150', { main: { temp: 50, humidity: 150 } }],
    ['humidity -1', { main: { temp: 50, humidity: -1 } }],
    ['temperature 1e300', { main: { temp: 1e300, humidity: 50 } }],
    ['temperature of the sun', { main: { temp: 9000, humidity: 50 } }],
    ['a name that is a number', { name: 42 }],
    ['a name with control characters', { name: 'Lon\u0000don' }],
    ['a three-letter country', { sys: { country: 'GBR' } }],
    ['weather that is not a list', { weather: 'rain' }],
    ['main that is a string', { main: 'warm' }],
    ['no reading at all', { main: {}, weather: [] }],
  ])(
    'refuses an out-of-range or wrongly typed field (%s) with 502 upstream-malformed',
    async (_name, reading) => {
      answerWith(reading);
      const error = await failure();
      expect({ status: error.status, type: error.options.type }).toEqual({
        status: 502,
        type: 'upstream-malformed',
      });
      expect(String(error.options.cause)).toMatch(/\w/);
    },
  );

  it('renders a partial reading: missing fields are null, the place falls back to what was asked for', async () => {
    answerWith({ name: '', sys: undefined, weather: [], main: { temp: 50.4 }, dt: undefined });
    const report = await client.getCurrentWeather(parseCity('Springfield,US'), 'imperial');
    expect(report).toMatchObject({
      city: 'Springfield,US',
      country: '',
      temperature: 50,
      humidity: null,
      description: null,
      observedAt: null,
    });
    answerWith({
      name: '  ',
      weather: [{ description: '' }],
      main: { humidity: 40 },
      sys: { country: null },
    });
    expect(await client.getCurrentWeather(parseCity('Oslo'), 'metric')).toMatchObject({
      city: 'Oslo',
      country: '',
      temperature: null,
      humidity: 40,
      description: null,
    });
  });

  it('refuses a body announced larger than the cap at once, without reading it', async () => {
    stub.behaviour = { kind: 'huge', bytes: 200 * 1024 * 1024, declared: true };
    stub.hugeBytesWritten = 0;
    const error = await failure();
    expect(error.options).toMatchObject({ type: 'upstream-too-large' });
    expect(String(error.options.cause)).toContain('Content-Length 209715200');
  });

  it('stops reading a streamed body past the cap, so memory stays flat', async () => {
    stub.behaviour = { kind: 'huge', bytes: 200 * 1024 * 1024, declared: false };
    stub.hugeBytesWritten = 0;
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const error = await failure();
    const rssAfter = process.memoryUsage().rss;
    expect(error.options).toMatchObject({ type: 'upstream-too-large' });
    // The stub could write what the socket buffers held before the client hung up: a few MB, never 200.
    expect(stub.hugeBytesWritten).toBeLessThan(32 * 1024 * 1024);
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024 * 1024);
    process.stdout.write(
      `streamed 200 MB body: stub wrote ${(stub.hugeBytesWritten / 1048576).toFixed(1)} MB before the client ` +
        `stopped at ${MAX_UPSTREAM_BODY_BYTES} bytes; RSS ${(rssBefore / 1048576).toFixed(0)} MB -> ` +
        `${(rssAfter / 1048576).toFixed(0)} MB\n`,
    );
  });

  it('retries once, on a new connection, when a reused connection is closed before any answer', async () => {
    await client.getCurrentWeather(parseCity('London'), 'metric');
    // undici puts the socket back in its pool just after the body ended.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const connectionsBefore = stub.connections;
    stub.behaviour = { kind: 'drop-reused' };
    const report = await client.getCurrentWeather(parseCity('Paris'), 'metric');
    expect(report.city).toBe('Paris');
    expect(stub.received.map((r) => r.query.get('q'))).toEqual(['London', 'Paris', 'Paris']);
    expect(stub.connections).toBe(connectionsBefore + 1);
  });

  it('never retries once the answer has started: a reset mid-response is one call and a 502', async () => {
    stub.behaviour = { kind: 'reset-mid-response' };
    const error = await failure();
    expect(error.options).toMatchObject({ type: 'upstream-unavailable' });
    expect(error.status).toBe(502);
    expect(stub.received).toHaveLength(1);
  });

  it('maps a reset connection (after its one retry) and a refused connection (never retried) to 502', async () => {
    stub.behaviour = { kind: 'reset' };
    expect((await failure()).status).toBe(502);
    expect(stub.received).toHaveLength(2);
    client = new OpenWeatherClient({
      apiKey: STUB_API_KEY,
      baseUrl: `http://127.0.0.1:${await closedPort()}`,
      timeoutMs: 300,
    });
    const refused = await failure();
    expect(refused.status).toBe(502);
    expect(refused.message).toContain('ECONNREFUSED');
  });
});
