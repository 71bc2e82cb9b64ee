import { request } from 'undici';
import { createUpstreamDispatcher, UpstreamAttempts } from '../src/weather/upstream-dispatcher';
import { OpenWeatherStub, STUB_API_KEY } from './support/openweather-stub';

// The retry policy on its own, for what the OpenWeather client never sends (it only GETs).
describe('the upstream dispatcher’s retry policy', () => {
  const stub = new OpenWeatherStub();
  beforeAll(() => stub.start());
  afterAll(() => stub.stop());

  async function send(method: 'GET' | 'POST', upstream: ReturnType<typeof createUpstreamDispatcher>) {
    const attempts = new UpstreamAttempts();
    const url = `${stub.url}/data/2.5/weather?q=London&appid=${STUB_API_KEY}`;
    try {
      const response = await request(url, { method, dispatcher: upstream.dispatcher, opaque: attempts });
      await response.body.text();
      return { ok: true, attempts };
    } catch (error) {
      return { ok: false, attempts, code: (error as { code?: string }).code };
    }
  }

  it.each([
    ['GET', true, 2],
    ['POST', false, 1],
  ] as const)(
    'a %s on a reused connection that the upstream closes: succeeds %p after %p attempt(s)',
    async (method, succeeds, sent) => {
      const upstream = createUpstreamDispatcher({ connections: 4, maxResponseBytes: 1024 * 1024 });
      try {
        stub.behaviour = { kind: 'ok' };
        expect((await send(method, upstream)).ok).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 20));
        stub.behaviour = { kind: 'drop-reused' };
        const result = await send(method, upstream);
        expect({ ok: result.ok, sent: result.attempts.sent }).toEqual({ ok: succeeds, sent });
        if (!succeeds) expect(result.code).toMatch(/^(UND_ERR_SOCKET|ECONNRESET|EPIPE)$/);
      } finally {
        await upstream.close();
      }
    },
  );
});
