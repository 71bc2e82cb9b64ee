import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import express from 'express';
import { createServiceApp, rejectDeclaredOversizedBodies, resolveVersionInfo } from '../src';
import { capturedLogger, testHealth } from './support';

describe('a declared-too-large request body', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    const app = createServiceApp({
      logger: capturedLogger().logger,
      health: testHealth(),
      version: resolveVersionInfo({ env: { APP_VERSION: '1.0.0' } }),
      routes(app) {
        app.post('/form', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
          res.json(req.body);
        });
        app.post(
          '/strict-form',
          rejectDeclaredOversizedBodies(4096, { requireLength: true }),
          express.urlencoded({ extended: false, limit: 4096 }),
          (req, res) => {
            res.json(req.body);
          },
        );
      },
    });
    server = createServer(app);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Sends the head and a tiny body over a raw socket; resolves with what came back once the server closed. */
  async function sendRaw(head: string): Promise<{ response: string; closedByServer: boolean }> {
    const socket = connect(port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      socket.write(`${head}\r\n\r\ncity=Oslo`);
      let response = '';
      socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
      // The server must answer and close without the 10 MB it was promised; the test's timeout bounds this.
      await once(socket, 'end');
      return { response, closedByServer: true };
    } finally {
      socket.destroy();
    }
  }

  it('gets 413 at once, as problem+json, and the connection is closed', async () => {
    const { response, closedByServer } = await sendRaw(
      'POST /form HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n' +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000',
    );
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toMatch(/\r\nconnection: close\r\n/i);
    expect(response).toContain('"type":"tag:slipway,2026:problem:body-too-large"');
    expect(closedByServer).toBe(true);
  }, 5000);

  it('answers a chunked body 411 at once where the route requires a declared length', async () => {
    const { response } = await sendRaw(
      'POST /strict-form HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n' +
        'Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n9',
    );
    expect(response).toMatch(/^HTTP\/1\.1 411 /);
    expect(response).toMatch(/\r\nconnection: close\r\n/i);
  }, 5000);

  it('leaves bodies within the limit alone', async () => {
    const { response } = await sendRaw(
      'POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 9',
    );
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response).toContain('{"city":"Oslo"}');
  });
});
