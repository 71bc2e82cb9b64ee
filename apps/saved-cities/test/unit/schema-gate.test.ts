import {
  createPgliteDatabase,
  MIGRATIONS,
  migrateToLatest,
  SchemaGate,
  type Database,
} from '../../src/database';

// Every migration this version knows, so adding one needs no edit here.
const ALL_MIGRATIONS = MIGRATIONS.map((migration) => migration.name);

// A database that cannot be reached for its first `failures` sessions, as at a start before Postgres is up.
function unreachableAtFirst(db: Database, failures: number): Database {
  let left = failures;
  return {
    ...db,
    withSession: (work) => {
      if (left > 0) {
        left -= 1;
        return Promise.reject(
          Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
        );
      }
      return db.withSession(work);
    },
  };
}

describe('SchemaGate', () => {
  let db: Database;
  beforeAll(async () => {
    db = await createPgliteDatabase();
  }, 180_000);
  afterAll(async () => {
    await db?.close();
  });

  it('stays closed with the reason while the database is unreachable, then opens once it answers', async () => {
    await migrateToLatest(db);
    const onBehind = jest.fn();
    const gate = new SchemaGate(unreachableAtFirst(db, 2), onBehind);
    expect(await gate.check()).toEqual({
      kind: 'unchecked',
      reason: 'cannot check the schema: connect ECONNREFUSED 127.0.0.1:5432',
    });
    expect(gate.isCurrent).toBe(false);
    gate.retryUntilCurrent(20);
    for (let i = 0; i < 100 && !gate.isCurrent; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    gate.stop();
    expect(gate.state).toEqual({ kind: 'current' });
    expect(onBehind).not.toHaveBeenCalled();
  });

  it('reports a schema behind this version to onBehind, with the pending migrations', async () => {
    const fresh = await createPgliteDatabase();
    try {
      const onBehind = jest.fn();
      const gate = new SchemaGate(fresh, onBehind);
      expect(await gate.check()).toEqual({ kind: 'behind', pending: ALL_MIGRATIONS });
      expect(onBehind).toHaveBeenCalledWith(ALL_MIGRATIONS);
    } finally {
      await fresh.close();
    }
  }, 180_000);
});
