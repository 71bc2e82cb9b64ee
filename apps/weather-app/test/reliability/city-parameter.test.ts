import fc from 'fast-check';
import { OpenWeatherStub, STUB_API_KEY } from '../support/openweather-stub';
import { FORM_HEADERS, startAppAgainstStub, type AppUnderTest } from './app-under-test';

// Pieces that try to end the parameter, add or override one, or break percent-decoding.
const QUERY_SYNTAX = [
  '&',
  '=',
  '#',
  '%',
  '%%',
  '%zz',
  '%2',
  '%26',
  '%3D',
  '%23',
  '%00',
  '+',
  ';',
  '?',
  '&appid=evil',
  '&q=Paris',
  '&units=kelvin',
  'appid=',
  '%26appid%3Devil',
  ' ',
  'London',
];
const CONTROL = Array.from({ length: 0x20 }, (_, code) => String.fromCharCode(code)).concat(
  '\u007f',
  '\u0085',
  '\u2028',
  '\u2029',
);

const cityValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: fc.constantFrom(...QUERY_SYNTAX), maxLength: 8 }),
  fc.string({
    unit: fc.oneof(fc.constantFrom(...CONTROL), fc.constantFrom('a', 'b', ' ', 'é')),
    maxLength: 12,
  }),
  fc.string({ unit: 'grapheme-ascii', minLength: 10_000, maxLength: 10_240 }),
  fc.constantFrom('London', ' london ', 'São Paulo', 'Paris,FR', 'Atlantis', 'Zürich'),
);

/** How the value reaches the app. `raw` leaves &, =, # and % for the URL and query parsers to deal with. */
type Delivery = 'query-encoded' | 'query-raw' | 'query-repeated' | 'form-encoded' | 'form-raw';
const delivery = fc.constantFrom<Delivery>(
  'query-encoded',
  'query-raw',
  'query-repeated',
  'form-encoded',
  'form-raw',
);

function send(url: string, how: Delivery, city: string, other: string): Promise<Response> {
  const encoded = encodeURIComponent(city);
  switch (how) {
    case 'query-encoded':
      return fetch(`${url}/api/weather?city=${encoded}`);
    case 'query-raw':
      return fetch(`${url}/api/weather?city=${city}`);
    case 'query-repeated':
      return fetch(`${url}/api/weather?city=${encoded}&city=${encodeURIComponent(other)}`);
    case 'form-encoded':
      return fetch(`${url}/weather`, { method: 'POST', headers: FORM_HEADERS, body: `city=${encoded}` });
    case 'form-raw':
      return fetch(`${url}/weather`, { method: 'POST', headers: FORM_HEADERS, body: `city=${city}` });
  }
}

describe('the city parameter, over arbitrary input', () => {
  let stub: OpenWeatherStub;
  let target: AppUnderTest;

  beforeAll(async () => {
    stub = await new OpenWeatherStub().start();
    target = await startAppAgainstStub(stub);
  });

  afterAll(async () => {
    await target?.app.stop();
    await stub?.stop();
  });

  it('answers 2xx or 4xx, sends upstream exactly one q and the right appid, and never shows the key', async () => {
    await fc.assert(
      fc.asyncProperty(cityValue, cityValue, delivery, async (city, other, how) => {
        const callsBefore = stub.received.length;
        const response = await send(target.app.url, how, city, other);
        const body = await response.text();

        // The stub is healthy throughout, so any 5xx would be ours, not a mapped upstream error.
        expect(response.status).toBeLessThan(500);
        expect(response.status).toBeGreaterThanOrEqual(200);
        // 431 when the two values together pass Node's 16 kB header limit.
        if (how === 'query-repeated') expect([400, 431]).toContain(response.status);
        expect(body).not.toContain(STUB_API_KEY);
        expect(JSON.stringify([...response.headers])).not.toContain(STUB_API_KEY);

        const calls = stub.received.slice(callsBefore);
        for (const { query } of calls) {
          expect([...query.keys()].sort()).toEqual(['appid', 'q', 'units']);
          expect(query.getAll('appid')).toEqual([STUB_API_KEY]);
          expect(query.getAll('q')).toHaveLength(1);
          expect(['imperial', 'metric']).toContain(query.get('units'));
        }
        // When we know the value the app received, the upstream gets exactly that city, nothing more.
        if (calls.length > 0 && (how === 'query-encoded' || how === 'form-encoded'))
          expect(calls.map(({ query }) => query.get('q'))).toEqual([city.normalize('NFC').trim()]);
      }),
      { numRuns: 400 },
    );
    expect(stub.received.length).toBeGreaterThan(0);
    expect(target.app.child.exitCode).toBeNull();
    expect(target.logs.leaks).toEqual([]);
    expect(target.logs.notJson).toEqual([]);
  });
});
