import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import {
  createUpstreamDispatcher,
  IDLE_KEEP_ALIVE_MS,
  UpstreamAttempts,
} from '../../src/weather/upstream-dispatcher';
import { OpenWeatherStub, STUB_API_KEY } from '../support/openweather-stub';

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

describe('the upstream dispatcher’s keep-alive', () => {
  /**
   * A plain server that counts connections. With `keepAliveSeconds` it advertises `Keep-Alive: timeout=N`;
   * with 0 it advertises nothing and never closes an idle connection itself.
   */
  async function countingServer(keepAliveSeconds: number) {
    const server = createServer((_req, res) => res.end('{}'));
    server.keepAliveTimeout = keepAliveSeconds * 1000;
    let connections = 0;
    server.on('connection', () => (connections += 1));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    return { server, url, connections: () => connections };
  }

  async function get(url: string, upstream: ReturnType<typeof createUpstreamDispatcher>) {
    const { body } = await request(url, { dispatcher: upstream.dispatcher });
    await body.text();
    // undici puts the socket back in its pool just after the body ended.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  it(`keeps an idle socket ${IDLE_KEEP_ALIVE_MS} ms when the upstream advertises nothing`, async () => {
    const target = await countingServer(0);
    const upstream = createUpstreamDispatcher({ connections: 4, maxResponseBytes: 1024 });
    try {
      await get(target.url, upstream);
      await new Promise((resolve) => setTimeout(resolve, IDLE_KEEP_ALIVE_MS - 1000));
      await get(target.url, upstream);
      expect(target.connections()).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, IDLE_KEEP_ALIVE_MS + 300));
      await get(target.url, upstream);
      expect(target.connections()).toBe(2);
    } finally {
      await upstream.close();
      target.server.closeAllConnections();
      target.server.close();
    }
  });

  it('honours a shorter Keep-Alive timeout the upstream advertises (minus undici’s 2 s margin)', async () => {
    const target = await countingServer(2);
    const upstream = createUpstreamDispatcher({ connections: 4, maxResponseBytes: 1024 });
    try {
      await get(target.url, upstream);
      await get(target.url, upstream);
      // timeout=2 leaves no time after the margin: undici does not reuse the socket at all.
      expect(target.connections()).toBe(2);
    } finally {
      await upstream.close();
      target.server.closeAllConnections();
      target.server.close();
    }
  });
});
