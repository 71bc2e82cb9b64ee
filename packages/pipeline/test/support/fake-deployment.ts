// A deployed service stand-in on loopback: /health, /version and a smoke path, driven by a scenario.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DeploymentScenario {
  /**
   * Health status for the n-th /health request (1-based); answered 200 for "pass" and "warn", 503 otherwise, as
   * service-kit's /health does (503 only on fail).
   */
  healthStatus: (requestNumber: number) => string;
  commit: string;
  /** /version's contentKey; absent when undefined (a service that predates content keys). */
  contentKey?: string;
  smokeStatus?: number;
  /** Every request answers 302 to the same path on this origin. */
  redirectAllTo?: string;
  /** Only the smoke path answers 302 to the same path on this origin. */
  redirectSmokeTo?: string;
}

export interface FakeDeployment {
  url: string;
  healthRequests: () => number;
  close: () => Promise<void>;
}

export const SMOKE_PATH = '/api/weather?city=London';

export async function startFakeDeployment(scenario: DeploymentScenario): Promise<FakeDeployment> {
  let healthRequests = 0;
  const server = http.createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const redirectTo =
      scenario.redirectAllTo ?? (request.url === SMOKE_PATH ? scenario.redirectSmokeTo : undefined);
    if (redirectTo !== undefined) {
      response.writeHead(302, { location: `${redirectTo}${request.url ?? '/'}` });
      response.end();
    } else if (request.url === '/health') {
      healthRequests += 1;
      const status = scenario.healthStatus(healthRequests);
      const checks =
        status === 'warn'
          ? { 'openweather:upstream': [{ status: 'warn', output: 'last upstream call failed (HTTP 500)' }] }
          : {};
      send(status === 'pass' || status === 'warn' ? 200 : 503, { status, checks });
    } else if (request.url === '/version') {
      send(200, {
        commit: scenario.commit,
        version: '1.0.0',
        ...(scenario.contentKey !== undefined && { contentKey: scenario.contentKey }),
      });
    } else if (request.url === SMOKE_PATH) {
      send(scenario.smokeStatus ?? 200, { city: 'London' });
    } else {
      send(404, { error: 'not found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    healthRequests: () => healthRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL with nothing listening: bind a port, then release it. */
export async function unusedLoopbackUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
