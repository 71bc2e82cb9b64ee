import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the stub answers. Tests and benchmarks switch it at any time, also under load. */
export type StubBehaviour =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'malformed' }
  | { kind: 'reset' }
  /** Headers and part of the body, then the connection is destroyed. */
  | { kind: 'reset-mid-response' }
  /** Destroys the connection without answering when it arrives on a connection that served a request before. */
  | { kind: 'drop-reused' }
  /** A 200 whose body is `bytes` long: announced in Content-Length, or streamed chunked without one. */
  | { kind: 'huge'; bytes: number; declared: boolean };

export type StubOptions = {
  /**
   * Destroy a connection after this long without traffic, sending no `Keep-Alive: timeout` header, as many
   * servers and load balancers do.
   */
  idleCloseMs?: number;
  /**
   * With idleCloseMs: a request arriving on a connection idle for more than `idleCloseMs - closeRaceMs` is
   * dropped unanswered, as when the server's FIN and the client's request cross on a network with this
   * round-trip time. On loopback the crossing window is microseconds wide; real networks make it as wide
   * as their round trip.
   */
  closeRaceMs?: number;
};

export type ReceivedRequest = { path: string; query: URLSearchParams; rawQuery: string };

export const STUB_API_KEY = 'stub-key-0123456789abcdef';

// Roughly what OpenWeather answers for /data/2.5/weather; the stub echoes the requested city back.
function currentWeatherBody(city: string, units: string): string {
  const celsius = 11.5;
  const temp =
    units === 'metric' ? celsius : units === 'imperial' ? (celsius * 9) / 5 + 32 : celsius + 273.15;
  return JSON.stringify({
    coord: { lon: -0.1257, lat: 51.5085 },
    weather: [{ id: 500, main: 'Rain', description: 'light rain', icon: '10d' }],
    base: 'stations',
    main: {
      temp,
      feels_like: temp - 1,
      temp_min: temp - 2,
      temp_max: temp + 1,
      pressure: 1012,
      humidity: 82,
    },
    visibility: 10000,
    wind: { speed: 4.1, deg: 240 },
    clouds: { all: 75 },
    dt: 1_763_800_000,
    sys: { type: 2, id: 2075535, country: 'GB', sunrise: 1_763_797_000, sunset: 1_763_827_000 },
    timezone: 0,
    id: 2643743,
    name: city.split(',')[0],
    cod: 200,
  });
}

/**
 * A real HTTP server on loopback that behaves like OpenWeather's current weather endpoint. It checks the
 * key like the real API does (401 for a wrong one), knows "Atlantis" does not exist, and records every
 * request so tests can assert exactly what reached the upstream.
 */
export class OpenWeatherStub {
  behaviour: StubBehaviour = { kind: 'ok' };
  readonly received: ReceivedRequest[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly servedBefore = new WeakSet<Socket>();
  private readonly lastAnswerAt = new WeakMap<Socket, number>();
  /** Connections accepted so far. */
  connections = 0;
  /** Body bytes the 'huge' behaviour managed to write before the client stopped reading. */
  hugeBytesWritten = 0;

  constructor(
    private readonly apiKey = STUB_API_KEY,
    private readonly stubOptions: StubOptions = {},
  ) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('stub is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    const { idleCloseMs } = this.stubOptions;
    // Node advertises `Keep-Alive: timeout=5` unless its own keep-alive timeout is off; the idle-close
    // upstream advertises nothing and closes on its own timer instead.
    if (idleCloseMs !== undefined) this.server.keepAliveTimeout = 0;
    this.server.on('connection', (socket: Socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      if (idleCloseMs !== undefined) {
        socket.setTimeout(idleCloseMs);
        socket.on('timeout', () => socket.destroy());
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const reused = this.servedBefore.has(req.socket);
    this.servedBefore.add(req.socket);
    const url = new URL(req.url ?? '/', 'http://stub');
    this.received.push({ path: url.pathname, query: url.searchParams, rawQuery: url.search });
    const { idleCloseMs, closeRaceMs = 0 } = this.stubOptions;
    const idleFor = performance.now() - (this.lastAnswerAt.get(req.socket) ?? Infinity);
    if (idleCloseMs !== undefined && reused && idleFor >= idleCloseMs - closeRaceMs) {
      req.socket.destroy();
      return;
    }
    res.once('finish', () => this.lastAnswerAt.set(req.socket, performance.now()));
    const behaviour = this.behaviour;
    const json = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(body);
    };

    if (url.pathname !== '/data/2.5/weather') return json(404, '{"cod":"404","message":"Internal error"}');
    switch (behaviour.kind) {
      case 'status':
        return json(
          behaviour.status,
          behaviour.body ?? `{"cod":${behaviour.status},"message":"stubbed"}`,
          behaviour.headers,
        );
      case 'malformed':
        return json(200, '{"coord":{"lon":-0.12,"lat":51.5},"weather":[{"descr');
      case 'reset':
        req.socket.destroy();
        return;
      case 'drop-reused':
        if (reused) {
          req.socket.destroy();
          return;
        }
        return this.answer(url, json);
      case 'reset-mid-response': {
        const body = currentWeatherBody('London', 'metric');
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        res.write(body.slice(0, 40), () => setTimeout(() => req.socket.destroy(), 20));
        return;
      }
      case 'huge':
        return this.streamHuge(res, behaviour.bytes, behaviour.declared);
      case 'slow': {
        const timer = setTimeout(() => this.answer(url, json), behaviour.delayMs);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      case 'ok':
        return this.answer(url, json);
    }
  }

  private streamHuge(res: ServerResponse, bytes: number, declared: boolean): void {
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(declared ? { 'content-length': String(bytes) } : {}),
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let left = bytes;
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const size = Math.min(left, chunk.length);
        left -= size;
        this.hugeBytesWritten += size;
        if (!res.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
          res.once('drain', pump);
          return;
        }
      }
      if (left === 0) res.end();
    };
    res.write('{"name":"');
    pump();
  }

  private answer(url: URL, json: (status: number, body: string) => void): void {
    if (url.searchParams.get('appid') !== this.apiKey) {
      return json(
        401,
        '{"cod":401,"message":"Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}',
      );
    }
    const city = url.searchParams.get('q') ?? '';
    if (city.toLowerCase().startsWith('atlantis'))
      return json(404, '{"cod":"404","message":"city not found"}');
    json(200, currentWeatherBody(city, url.searchParams.get('units') ?? 'standard'));
  }
}

/** A loopback port with nothing listening on it, for "connection refused". */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
