import type { Logger } from '@slipway/service-kit';
import { Umzug, type UmzugStorage } from 'umzug';
import type { Database, SqlExecutor } from './database';
import { MIGRATIONS, type SchemaMigration } from './migrations';

const TABLE = 'slipway_migrations';
// One migrate step at a time per database, even when two deploy jobs race (pg_advisory_lock is per session).
const LOCK_SQL = `SELECT pg_advisory_lock(hashtext('saved-cities:migrations'))`;
const UNLOCK_SQL = `SELECT pg_advisory_unlock(hashtext('saved-cities:migrations'))`;

async function ensureTable(session: SqlExecutor): Promise<void> {
  await session.query(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
}

// umzug keeps the list of applied migrations in a storage of our choosing: a table in the same database.
const storage: UmzugStorage<SqlExecutor> = {
  async executed({ context }) {
    await ensureTable(context);
    const { rows } = await context.query<{ name: string }>(`SELECT name FROM ${TABLE} ORDER BY name`);
    return rows.map((row) => row.name);
  },
  async logMigration({ name, context }) {
    // up() already recorded it inside its transaction; this keeps umzug's contract without a second row.
    await context.query(`INSERT INTO ${TABLE} (name) VALUES ($1) ON CONFLICT DO NOTHING`, [name]);
  },
  async unlogMigration({ name, context }) {
    await context.query(`DELETE FROM ${TABLE} WHERE name = $1`, [name]);
  },
};

/** Runs one migration and records it in the same transaction, so it is applied and recorded, or neither. */
async function apply(session: SqlExecutor, migration: SchemaMigration): Promise<void> {
  await session.query('BEGIN');
  try {
    for (const statement of migration.statements) await session.query(statement);
    await session.query(`INSERT INTO ${TABLE} (name) VALUES ($1) ON CONFLICT DO NOTHING`, [migration.name]);
    await session.query('COMMIT');
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function umzugFor(session: SqlExecutor, logger: Logger | undefined) {
  return new Umzug<SqlExecutor>({
    migrations: MIGRATIONS.map((migration) => ({
      name: migration.name,
      up: ({ context }) => apply(context, migration),
    })),
    context: session,
    storage,
    logger: logger
      ? {
          info: (event) => logger.info({ migration: event }, 'migration'),
          warn: (event) => logger.warn({ migration: event }, 'migration'),
          error: (event) => logger.error({ migration: event }, 'migration'),
          debug: (event) => logger.debug({ migration: event }, 'migration'),
        }
      : undefined,
  });
}

export interface SchemaStatus {
  /** Migrations this version knows that the database has not applied, oldest first. */
  pending: string[];
  /** Migrations the database has that this version does not know (a newer version migrated it): harmless. */
  unknown: string[];
}

/** Applies every pending migration, under an advisory lock. Returns the names applied, oldest first. */
export async function migrateToLatest(db: Database, logger?: Logger): Promise<string[]> {
  return db.withSession(async (session) => {
    await session.query(LOCK_SQL);
    try {
      const applied = await umzugFor(session, logger).up();
      return applied.map((migration) => migration.name);
    } finally {
      await session.query(UNLOCK_SQL);
    }
  });
}

/** Compares the database's applied migrations with this version's list, without changing anything. */
export async function schemaStatus(db: Database): Promise<SchemaStatus> {
  return db.withSession(async (session) => {
    const pending = (await umzugFor(session, undefined).pending()).map((migration) => migration.name);
    const known = new Set(MIGRATIONS.map((migration) => migration.name));
    const executed = await storage.executed({ context: session });
    return { pending, unknown: executed.filter((name) => !known.has(name)) };
  });
}
