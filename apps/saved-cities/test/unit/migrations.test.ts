import { MIGRATIONS, createPgliteDatabase, migrateToLatest, schemaStatus } from '../../src/database';

// Expand-only: what the previous version needs must still be there after a migration. A statement may create
// a table or an index, or add a column that is nullable or has a default; anything else (DROP, RENAME, ALTER
// COLUMN, SET NOT NULL, a NOT NULL column without a default, TRUNCATE, DELETE, UPDATE) is refused here.
const EXPANDING = [
  /^CREATE TABLE IF NOT EXISTS \w+ \(/,
  /^CREATE (UNIQUE )?INDEX (CONCURRENTLY )?IF NOT EXISTS \w+\s+ON \w+ /,
  /^ALTER TABLE \w+ ADD COLUMN IF NOT EXISTS \w+ [\w ()]+$/,
];
const CONTRACTING = /\b(DROP|RENAME|TRUNCATE|DELETE|UPDATE|ALTER COLUMN|SET NOT NULL|TYPE)\b/i;

function expandOnlyProblem(statement: string): string | undefined {
  const sql = statement.replace(/\s+/g, ' ').trim();
  if (!EXPANDING.some((pattern) => pattern.test(sql)))
    return `not an expanding statement: ${sql.slice(0, 80)}`;
  if (CONTRACTING.test(sql.replace(/DEFAULT now\(\)/g, '')))
    return `contracts the schema: ${sql.slice(0, 80)}`;
  if (/^ALTER TABLE/.test(sql) && /NOT NULL/.test(sql) && !/DEFAULT/.test(sql)) {
    return `adds a NOT NULL column without a default, which the previous version's inserts would violate: ${sql}`;
  }
  return undefined;
}

describe('migrations', () => {
  it('are expand-only and re-runnable', () => {
    const problems = MIGRATIONS.flatMap((migration) =>
      migration.statements
        .map(expandOnlyProblem)
        .filter(Boolean)
        .map((p) => `${migration.name}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('the expand-only check refuses what would break the previous version', () => {
    expect(expandOnlyProblem('ALTER TABLE saved_cities DROP COLUMN country')).toBeDefined();
    expect(expandOnlyProblem('ALTER TABLE saved_cities RENAME COLUMN name TO city')).toBeDefined();
    expect(
      expandOnlyProblem('ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS note text NOT NULL'),
    ).toBeDefined();
    expect(expandOnlyProblem('DROP TABLE saved_cities')).toBeDefined();
    expect(expandOnlyProblem('ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS note text')).toBeUndefined();
  });

  it('have unique names in order, and a second run applies nothing', async () => {
    const names = MIGRATIONS.map((migration) => migration.name);
    expect(names).toEqual([...new Set(names)].sort());
    const db = await createPgliteDatabase();
    try {
      expect(await schemaStatus(db)).toEqual({ pending: names, unknown: [] });
      expect(await migrateToLatest(db)).toEqual(names);
      expect(await migrateToLatest(db)).toEqual([]);
      // Every statement is re-runnable, as a crash between a migration and its record would repeat it.
      for (const migration of MIGRATIONS) {
        for (const statement of migration.statements) await db.query(statement);
      }
      await db.query(`INSERT INTO slipway_migrations (name) VALUES ('9999-from-a-newer-version')`);
      expect(await schemaStatus(db)).toEqual({ pending: [], unknown: ['9999-from-a-newer-version'] });
    } finally {
      await db.close();
    }
  }, 180_000);
});
