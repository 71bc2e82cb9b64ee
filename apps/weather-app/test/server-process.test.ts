import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

// The compiled entry point, as `npm start` and the container image run it (turbo builds it before testing).
const SERVER = join(__dirname, '..', 'dist', 'server.js');

function startServer(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function listeningUrl(output: () => string): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const match = /"url":"(http:\/\/[^"]+)"/.exec(output());
    if (match?.[1]) return match[1];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server did not start:\n${output()}`);
}

describe('the weather-app process', () => {
  it('refuses to start on a bad environment, with one line naming the variable', async () => {
    const { child, output } = startServer({ PORT: 'not-a-port', OPENWEATHER_API_KEY: 'secret-key-123456' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output().trim().split('\n')).toEqual([expect.stringMatching(/^Invalid configuration: PORT /)]);
    expect(output()).not.toContain('secret-key-123456');
  });

  it('serves the demo with no key, logs JSON to stdout, and exits 0 on SIGTERM', async () => {
    const { child, output } = startServer({ GIT_COMMIT_SHA: 'd'.repeat(40) });
    const url = await listeningUrl(output);
    const version = (await (await fetch(`${url}/version`)).json()) as { commit: string };
    expect(version.commit).toBe('d'.repeat(40));
    const weather = (await (await fetch(`${url}/api/weather?city=Tokyo`)).json()) as { demo: boolean };
    expect(weather.demo).toBe(true);

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const lines = output().trim().split('\n');
    expect(lines.every((line) => JSON.parse(line))).toBe(true);
    expect(output()).toContain('shutdown: all connections closed');
  });
});
