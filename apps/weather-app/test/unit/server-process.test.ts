import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

// The compiled entry point, as `npm start` and the container image run it (turbo builds it before testing).
const SERVER = join(__dirname, '..', '..', 'dist', 'server.js');

// Every process a test starts is killed after it, whether the test passed or failed, so a failing assertion
// can never leave a server listening (and a Jest run waiting on it).
const started = new Set<ChildProcess>();
afterEach(() => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  started.clear();
});

function startServer(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
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
  it('refuses to start on a bad environment, with one line naming every bad variable, exit 78', async () => {
    const { child, output } = startServer({
      PORT: 'not-a-port',
      SHUTDOWN_TIMEOUT_MS: '5s',
      OPENWEATHER_API_KEY: 'secret-key-123456',
      OPENWEATHER_TIMEOUT_MS: '2.5',
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(78);
    expect(output().trim().split('\n')).toEqual([
      'Invalid configuration: PORT must be a whole number from 0 to 65535; ' +
        'SHUTDOWN_TIMEOUT_MS must be a whole number from 100 to 600000 milliseconds; ' +
        'OPENWEATHER_TIMEOUT_MS must be a whole number from 100 to 60000 milliseconds',
    ]);
    expect(output()).not.toContain('secret-key-123456');
  });

  it('makes that line the last thing `npm start` shows, and exits 78 through npm', async () => {
    // One pipe for stdout and stderr, so the order is the order a terminal shows.
    const npm = process.env.npm_execpath ? `"${process.execPath}" "${process.env.npm_execpath}"` : 'npm';
    const child = spawn('sh', ['-c', `exec ${npm} start -- weather-app 2>&1`], {
      cwd: join(__dirname, '..', '..', '..', '..'),
      env: { ...process.env, PORT: 'abc', SHUTDOWN_TIMEOUT_MS: '5s' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    started.add(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = await once(child, 'exit');
    const lines = output.trim().split('\n');
    expect(lines.at(-1)).toBe(
      'Invalid configuration: PORT must be a whole number from 0 to 65535; ' +
        'SHUTDOWN_TIMEOUT_MS must be a whole number from 100 to 600000 milliseconds',
    );
    expect(code).toBe(78);
    expect(output).not.toMatch(/npm error|ERROR {2}run failed/);
  }, 60_000);

  it('logs that the demo provider was chosen by WEATHER_PROVIDER when a key is set, never the key', async () => {
    const { output } = startServer({ OPENWEATHER_API_KEY: 'secret-key-123456', WEATHER_PROVIDER: 'demo' });
    await listeningUrl(output);
    const starting = output()
      .split('\n')
      .find((line) => line.includes('"msg":"starting'));
    expect(starting).toContain('WEATHER_PROVIDER=demo; OPENWEATHER_API_KEY is set but unused');
    expect(output()).not.toContain('no OPENWEATHER_API_KEY');
    expect(output()).not.toContain('secret-key-123456');
  });

  it('names HOST when the host cannot be listened on, exit 78', async () => {
    const { child, output } = startServer({ HOST: 'no-such-host.invalid' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(78);
    expect(output().trim().split('\n').at(-1)).toMatch(
      /^Invalid configuration: HOST "no-such-host\.invalid" does not resolve to an address/,
    );
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
