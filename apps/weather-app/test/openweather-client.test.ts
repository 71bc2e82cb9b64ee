import { CityNotFoundError, UpstreamError } from '../src/weather/weather';
import { OpenWeatherClient } from '../src/weather/openweather-client';
import { closedPort, OpenWeatherStub, STUB_API_KEY } from './support/openweather-stub';

describe('OpenWeatherClient against a loopback OpenWeather stub', () => {
  const stub = new OpenWeatherStub();
  let client: OpenWeatherClient;

  beforeAll(() => stub.start());
  afterAll(() => stub.stop());
  beforeEach(() => {
    stub.behaviour = { kind: 'ok' };
    stub.received.length = 0;
    // Generous, so a loaded CI runner never turns a healthy call into a timeout; the timeout test sets its own.
    client = new OpenWeatherClient({ apiKey: STUB_API_KEY, baseUrl: stub.url, timeoutMs: 2000 });
  });
  afterEach(() => client.close());

  async function failure(city = 'London'): Promise<UpstreamError | CityNotFoundError> {
    try {
      await client.getCurrentWeather(city, 'imperial');
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(STUB_API_KEY);
      expect(JSON.stringify(error)).not.toContain(STUB_API_KEY);
      return error as UpstreamError;
    }
    throw new Error('expected the lookup to fail');
  }

  it('calls /data/2.5/weather with q, appid and units, and maps the answer', async () => {
    const report = await client.getCurrentWeather('London', 'imperial');
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
    const report = await client.getCurrentWeather('London', 'metric');
    expect(report).toMatchObject({ temperature: 12, temperatureUnit: '°C' });
    expect(stub.received[0]?.query.get('units')).toBe('metric');
  });

  it('cannot be made to inject parameters: the whole input is one q value', async () => {
    await client.getCurrentWeather('London&appid=x&units=standard#frag', 'imperial');
    const query = stub.received[0]!.query;
    expect(query.getAll('q')).toEqual(['London&appid=x&units=standard#frag']);
    expect(query.getAll('appid')).toEqual([STUB_API_KEY]);
    expect(query.getAll('units')).toEqual(['imperial']);
  });

  it('sends unicode cities intact', async () => {
    const report = await client.getCurrentWeather('Zürich', 'metric');
    expect(stub.received[0]?.query.get('q')).toBe('Zürich');
    expect(stub.received[0]?.rawQuery).toContain('q=Z%C3%BCrich');
    expect(report.city).toBe('Zürich');
    await client.getCurrentWeather('東京', 'metric');
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

  it('maps 429 to 503 and passes Retry-After on', async () => {
    stub.behaviour = { kind: 'status', status: 429, headers: { 'retry-after': '17' } };
    const error = await failure();
    expect(error.status).toBe(503);
    expect(error.options.headers).toEqual({ 'retry-after': '17' });
  });

  it('uses a sane Retry-After when upstream gives none', async () => {
    stub.behaviour = { kind: 'status', status: 429 };
    expect((await failure()).options.headers).toEqual({ 'retry-after': '60' });
  });

  it('maps 500 to 502', async () => {
    stub.behaviour = { kind: 'status', status: 500 };
    const error = await failure();
    expect(error.status).toBe(502);
    expect(error.message).toContain('HTTP 500');
  });

  it('gives up after the timeout with 504', async () => {
    await client.close();
    client = new OpenWeatherClient({ apiKey: STUB_API_KEY, baseUrl: stub.url, timeoutMs: 300 });
    stub.behaviour = { kind: 'slow', delayMs: 30_000 };
    const error = await failure();
    expect(error.status).toBe(504);
    expect(error.message).toContain('300 ms');
  });

  it('maps malformed JSON, and JSON of the wrong shape, to 502', async () => {
    stub.behaviour = { kind: 'malformed' };
    expect((await failure()).options.type).toBe('upstream-malformed');
    stub.behaviour = { kind: 'status', status: 200, body: '{"name":"London","main":{"temp":"warm"}}' };
    expect((await failure()).options.type).toBe('upstream-malformed');
  });

  it('maps a reset connection and a refused connection to 502', async () => {
    stub.behaviour = { kind: 'reset' };
    expect((await failure()).status).toBe(502);
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
