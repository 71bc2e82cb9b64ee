import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

// The compiled entry point, as `npm start` and the container image run it (turbo builds it before testing).
const SERVER = join(__dirname, '..', '..', 'dist', 'server.js');
const running = new Set<ChildProcess>();

function startServer(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

// A failed assertion must not leave a server listening (Jest would never exit).
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

async function listeningUrl(output: () => string): Promise<string> {
  // PGlite compiles its WebAssembly at start: seconds when quiet, much longer on a busy CI host.
  for (let attempt = 0; attempt < 3000; attempt += 1) {
    const match = /"url":"(http:\/\/[^"]+)"/.exec(output());
    if (match?.[1]) return match[1];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server did not start:\n${output()}`);
}

describe('the saved-cities process', () => {
  it('starts with no configuration on the embedded PGlite, says so, and exits 0 on SIGTERM', async () => {
    const { child, output } = startServer({});
    const url = await listeningUrl(output);
    expect(output()).toContain('starting with the embedded in-memory PGlite database');
    const added = await fetch(`${url}/api/users/me/cities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Valparaíso', country: 'CL' }),
    });
    expect(added.status).toBe(201);
    const list = (await (await fetch(`${url}/api/users/me/cities`)).json()) as {
      items: Array<{ name: string }>;
      notice: string;
    };
    expect(list.items.map((city) => city.name)).toEqual(['Valparaíso']);
    expect(list.notice).toMatch(/embedded/);

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const lines = output().trim().split('\n');
    expect(lines.every((line) => JSON.parse(line))).toBe(true);
  }, 200_000);

  it('refuses a bad environment with one line naming the variable and never the secret', async () => {
    const { child, output } = startServer({ DATABASE_URL: 'mysql://root:pa55-secret@db/app' });
    const [code] = await once(child, 'exit');
    // 78 (EX_CONFIG), service-kit's CONFIG_ERROR_EXIT_CODE: a refused configuration, not a crash (1).
    expect(code).toBe(78);
    expect(output().trim().split('\n')).toEqual([
      'Invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// connection URL',
    ]);
  });
});
