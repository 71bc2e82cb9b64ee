// A real Postgres 15 for the integration tests: Debian's server binaries, a cluster in a fresh temp directory,
// a random port, stopped and deleted in teardown (and on a failed start). Postgres refuses to run as root, so
// as root the cluster belongs to the `postgres` user and its commands run through runuser.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const POSTGRES_BIN = process.env.SLIPWAY_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'slipway';
const SUPERUSER_PASSWORD = 'slipway-test-superuser';
export const APP_ROLE = 'cities_app';
const APP_PASSWORD = 'cities-app-test-password';

/**
 * Whether these tests can run here. Without the binaries they are skipped with a loud message, unless
 * SLIPWAY_REQUIRE_POSTGRES=1 (set by .ci/run), where a missing Postgres fails the run instead.
 */
export function postgresAvailable(): boolean {
  const present =
    Boolean(process.env.SLIPWAY_TEST_POSTGRES_ADMIN_URL) || existsSync(join(POSTGRES_BIN, 'initdb'));
  if (present) return true;
  const message =
    `Postgres 15 server binaries not found in ${POSTGRES_BIN} (Debian package postgresql-15): ` +
    'the real-Postgres integration tests of saved-cities cannot run.';
  if (process.env.SLIPWAY_REQUIRE_POSTGRES === '1') {
    throw new Error(`${message} SLIPWAY_REQUIRE_POSTGRES=1 forbids skipping them.`);
  }
  process.stderr.write(
    `\n${'!'.repeat(100)}\n!! SKIPPED: ${message}\n!! Install it: apt-get install -y postgresql-15\n${'!'.repeat(100)}\n\n`,
  );
  return false;
}

/** A TCP port on 127.0.0.1 that nothing listens on at the moment of asking. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PostgresServer {
  port: number;
  /** The app's connection URL (a non-superuser role owning its own database). */
  url(database?: string): string;
  /** A superuser client, for what a test does "from another session". */
  admin(): Promise<pg.Client>;
  /** A fresh empty database owned by the app role; returns its name. */
  createDatabase(): Promise<string>;
  /** Terminates every backend of the app role (pg_terminate_backend), as an operator or failover would. */
  terminateAppSessions(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A CI job's `services:` container is reached by its alias; a shell executor (gitlab-ci-local's, `npm run
 * pipeline`) starts no services, so the alias does not resolve. Then, where Debian's binaries are installed, the
 * tests say so and start their own server instead; without the binaries the lookup's failure stands.
 */
async function externalHostResolves(url: string): Promise<boolean> {
  const { hostname } = new URL(url);
  try {
    await lookup(hostname);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === 'ENOTFOUND' || code === 'EAI_AGAIN') && existsSync(join(POSTGRES_BIN, 'initdb'))) {
      process.stderr.write(
        `SLIPWAY_TEST_POSTGRES_ADMIN_URL names host "${hostname}", which does not resolve (no services: container here); ` +
          `starting a private Postgres from ${POSTGRES_BIN} instead\n`,
      );
      return false;
    }
    return true;
  }
}

/** A URL of a port nothing listens on: connecting is refused at once. */
export async function unreachableUrl(): Promise<string> {
  return `postgres://${APP_ROLE}:${APP_PASSWORD}@127.0.0.1:${await freePort()}/postgres`;
}

/**
 * A server for one test file: the one at SLIPWAY_TEST_POSTGRES_ADMIN_URL (a superuser URL, e.g. a CI job's
 * `services: postgres:15`), else a private cluster from Debian's binaries.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const external = process.env.SLIPWAY_TEST_POSTGRES_ADMIN_URL;
  if (external && (await externalHostResolves(external))) return connectTo(external, async () => undefined);
  const asRoot = userInfo().uid === 0;
  const owner = asRoot ? 'postgres' : userInfo().username;
  const dir = mkdtempSync(join(tmpdir(), 'slipway-pg-'));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${SUPERUSER_PASSWORD}\n`, { mode: 0o600 });
  if (asRoot) {
    const { stdout } = await run('id', ['-u', owner]);
    const { stdout: gid } = await run('id', ['-g', owner]);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    chownSync(pwfile, Number(stdout.trim()), Number(gid.trim()));
  }
  const as = (command: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', owner, '--', join(POSTGRES_BIN, command), ...args])
      : run(join(POSTGRES_BIN, command), args);
  const port = await freePort();
  let started = false;
  const stop = async () => {
    if (started) {
      await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await as('initdb', [
      '-D',
      data,
      '-U',
      SUPERUSER,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]);
    await as('pg_ctl', [
      '-D',
      data,
      '-w',
      '-t',
      '60',
      '-l',
      join(dir, 'server.log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`,
      'start',
    ]);
    started = true;
  } catch (error) {
    await stop();
    throw error;
  }
  return connectTo(`postgres://${SUPERUSER}:${SUPERUSER_PASSWORD}@127.0.0.1:${port}/postgres`, stop);
}

async function connectTo(superUrl: string, stop: () => Promise<void>): Promise<PostgresServer> {
  const { hostname, port: portText } = new URL(superUrl);
  const port = Number(portText || 5432);
  const admin = async () => {
    const client = new pg.Client({ connectionString: superUrl });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  const setup = await admin();
  // A shared external server may have the role from an earlier test file.
  await setup.query(
    `DO $$ BEGIN CREATE ROLE ${APP_ROLE} LOGIN PASSWORD '${APP_PASSWORD}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  );
  await setup.end();
  let databases = 0;
  return {
    port,
    url: (database = 'postgres') => `postgres://${APP_ROLE}:${APP_PASSWORD}@${hostname}:${port}/${database}`,
    admin,
    async createDatabase() {
      databases += 1;
      const name = `cities_${process.pid}_${Date.now()}_${databases}`;
      const client = await admin();
      await client.query(`CREATE DATABASE ${name} OWNER ${APP_ROLE}`);
      await client.end();
      return name;
    },
    async terminateAppSessions() {
      const client = await admin();
      const { rows } = await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()`,
        [APP_ROLE],
      );
      await client.end();
      return rows.length;
    },
    stop,
  };
}
