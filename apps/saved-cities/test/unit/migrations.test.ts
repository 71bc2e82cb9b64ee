import {
  MIGRATIONS,
  createPgliteDatabase,
  migrateToLatest,
  schemaStatus,
  type Database,
  type SqlExecutor,
} from '../../src/database';

// Expand-only (rules in src/database/migrations/index.ts): the version running before a deploy must keep working
// on the schema after the migration. Rather than pattern-match SQL, the check runs each migration in a real
// Postgres (PGlite), in a transaction as src/database/migrate.ts does, and compares the catalog before and after:
// - a statement is one CREATE TABLE (not CREATE TABLE AS), CREATE [UNIQUE] INDEX or ALTER TABLE whose actions
//   are ADD, DROP, RENAME or ALTER COLUMN's default, NOT NULL and TYPE (without USING); DROP, TRUNCATE, DELETE and
//   UPDATE contract the schema or its data; anything else (views, functions, INSERT, sequences, row-level
//   security, owners, triggers) is not an expanding statement;
// - contracts the schema: a table, column, index or constraint that existed is gone (dropped or renamed) or
//   changed (retyped, a default changed or removed);
// - tightens the schema, on a table that existed before the migration: SET NOT NULL; a new NOT NULL column
//   without a non-null default; a unique index; a constraint on columns that existed; and, on any table, a
//   foreign key to a table that existed, unless ON DELETE CASCADE or SET NULL/DEFAULT (the previous version's
//   deletes of referenced rows would fail); a row inserted as the previous version would (its columns only)
//   must pass the new defaults and checks. A table created by the same migration is the new version's alone;
// - runs inside the migration's transaction (so no CREATE INDEX CONCURRENTLY) and is re-runnable: a second run
//   neither fails nor changes the schema (a crash between a migration and its record repeats it).
// What it cannot judge: whether an expression (an expression index, a partial index's WHERE, a generated column,
// a CHECK on a new column) fails for some value the previous version writes, e.g. `(name::int)`. Review those.

interface Column {
  table: string;
  column: string;
  type: string;
  notNull: boolean;
  default: string | null;
  /** pg_attribute.attidentity / attgenerated: '' for a plain column. */
  identity: string;
  generated: string;
}
interface Index {
  name: string;
  table: string;
  unique: boolean;
  definition: string;
}
interface Constraint {
  name: string;
  table: string;
  /** pg_constraint.contype: c check, f foreign key, p primary key, u unique, x exclusion, n not null. */
  kind: string;
  definition: string;
  columns: string[];
  references: string | null;
  /** pg_constraint.confdeltype: a no action, r restrict, c cascade, n set null, d set default. */
  onDelete: string;
}
interface Catalog {
  tables: Set<string>;
  columns: Map<string, Column>;
  indexes: Map<string, Index>;
  constraints: Map<string, Constraint>;
}

const PUBLIC_RELATIONS = `pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'`;

async function readCatalog(session: SqlExecutor): Promise<Catalog> {
  const { rows: tables } = await session.query<{ table: string }>(
    `SELECT c.relname AS table FROM ${PUBLIC_RELATIONS} WHERE c.relkind IN ('r', 'p')`,
  );
  const { rows: columns } = await session.query<Column>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", pg_get_expr(d.adbin, d.adrelid) AS default,
            a.attidentity AS identity, a.attgenerated AS generated
       FROM ${PUBLIC_RELATIONS}
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relkind IN ('r', 'p')`,
  );
  const { rows: indexes } = await session.query<Index>(
    `SELECT i.relname AS name, c.relname AS table, x.indisunique AS unique,
            pg_get_indexdef(x.indexrelid) AS definition
       FROM ${PUBLIC_RELATIONS} JOIN pg_index x ON x.indrelid = c.oid JOIN pg_class i ON i.oid = x.indexrelid`,
  );
  const { rows: constraints } = await session.query<Constraint>(
    `SELECT k.conname AS name, c.relname AS table, k.contype AS kind, pg_get_constraintdef(k.oid) AS definition,
            ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = k.conrelid AND attnum = ANY (k.conkey))
              AS columns,
            f.relname AS references, k.confdeltype AS "onDelete"
       FROM ${PUBLIC_RELATIONS} JOIN pg_constraint k ON k.conrelid = c.oid
       LEFT JOIN pg_class f ON f.oid = k.confrelid`,
  );
  return {
    tables: new Set(tables.map((row) => row.table)),
    columns: new Map(columns.map((row) => [`${row.table}.${row.column}`, row])),
    indexes: new Map(indexes.map((row) => [row.name, row])),
    constraints: new Map(constraints.map((row) => [`${row.table}.${row.name}`, row])),
  };
}

/** The statement with string literals, quoted identifiers and comments blanked, so only its SQL words remain. */
function sqlWords(statement: string): string {
  return statement
    .replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Problems a statement shows before it runs: its kind, and one command per statement. */
function statementProblem(statement: string): string | undefined {
  const words = sqlWords(statement);
  const head = words.slice(0, 80);
  // pg runs a parameterless query with the simple protocol, which accepts several commands in one string.
  if (/;\s*\S/.test(words)) return `not an expanding statement (one command per statement): ${head}`;
  if (/^(DROP|TRUNCATE|DELETE|UPDATE)\b/i.test(words)) return `contracts the schema: ${head}`;
  if (!/^(CREATE TABLE|CREATE (UNIQUE )?INDEX|ALTER TABLE)\b/i.test(words))
    return `not an expanding statement: ${head}`;
  // A query inside CREATE TABLE AS can do anything (a DELETE in a WITH), and the catalog would not show it.
  if (/^CREATE TABLE\b/i.test(words) && /\)\s*AS\b|^CREATE TABLE (IF NOT EXISTS )?[\w.]+ AS\b/i.test(words))
    return `not an expanding statement (CREATE TABLE AS runs a query): ${head}`;
  if (/^ALTER TABLE\b/i.test(words)) return alterTableProblem(words, head);
  return undefined;
}

/**
 * ALTER TABLE's actions the catalog comparison judges: ADD (columns, constraints), and the ALTER COLUMN, DROP and
 * RENAME forms whose effect the catalog shows. Anything else changes what the catalog comparison does not read
 * (sequences, row-level security, owners, triggers, storage), and `USING` rewrites existing values.
 */
function alterTableProblem(words: string, head: string): string | undefined {
  if (/\bUSING\b/i.test(words)) return `contracts the schema (USING rewrites existing values): ${head}`;
  const actions = topLevelParts(words.replace(/^ALTER TABLE (IF EXISTS )?(ONLY )?[\w.]+\s*/i, ''));
  const judged =
    /^(ADD|DROP|RENAME|ALTER (COLUMN )?[\w]+ (SET DEFAULT|DROP DEFAULT|SET NOT NULL|DROP NOT NULL|(SET DATA )?TYPE)\b)/i;
  const other = actions.find((action) => !judged.test(action));
  return other === undefined
    ? undefined
    : `not an expanding statement (ALTER TABLE ... ${other.slice(0, 40)}): ${head}`;
}

/** Splits at the commas outside parentheses: ALTER TABLE's list of actions. */
function topLevelParts(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index += 1) {
    if (text[index] === '(') depth += 1;
    else if (text[index] === ')') depth -= 1;
    else if (text[index] === ',' && depth === 0) {
      parts.push(text.slice(start, index).trim());
      start = index + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

const NULL_DEFAULT = /^NULL(::[\w ]+)?$/i;

/** What the step from `before` to `after` (one migration) takes away from, or tightens for, the previous version. */
function catalogProblems(before: Catalog, after: Catalog): string[] {
  const problems: string[] = [];
  for (const table of before.tables) {
    if (!after.tables.has(table)) problems.push(`contracts the schema: table ${table} dropped or renamed`);
  }
  for (const [key, old] of before.columns) {
    const now = after.columns.get(key);
    if (!now) problems.push(`contracts the schema: column ${key} dropped or renamed`);
    else if (now.type !== old.type)
      problems.push(`contracts the schema: column ${key} retyped to ${now.type}`);
    else if (now.default !== old.default || now.identity !== old.identity || now.generated !== old.generated)
      problems.push(`contracts the schema: the default of column ${key} changed`);
    else if (now.notNull && !old.notNull) problems.push(`tightens the schema: column ${key} set NOT NULL`);
  }
  for (const [key, column] of after.columns) {
    if (before.columns.has(key) || !before.tables.has(column.table)) continue;
    const filled =
      (column.default !== null && !NULL_DEFAULT.test(column.default)) || column.identity || column.generated;
    if (column.notNull && !filled)
      problems.push(
        `tightens the schema: new column ${key} is NOT NULL without a non-null default, ` +
          `so the previous version's inserts fail`,
      );
  }
  for (const [name, old] of before.indexes) {
    if (after.indexes.get(name)?.definition !== old.definition)
      problems.push(`contracts the schema: index ${name} dropped, renamed or changed`);
  }
  for (const [name, index] of after.indexes) {
    if (!before.indexes.has(name) && index.unique && before.tables.has(index.table))
      problems.push(
        `tightens the schema: unique index ${name} on existing table ${index.table}, ` +
          `so the previous version gets errors on rows it used to accept`,
      );
  }
  for (const [key, old] of before.constraints) {
    if (after.constraints.get(key)?.definition !== old.definition)
      problems.push(`contracts the schema: constraint ${key} dropped, renamed or changed`);
  }
  for (const [key, constraint] of after.constraints) {
    if (before.constraints.has(key) || constraint.kind === 'n') continue;
    const onExistingColumns = constraint.columns.some((column) =>
      before.columns.has(`${constraint.table}.${column}`),
    );
    if (onExistingColumns && !(constraint.kind === 'u' || constraint.kind === 'p'))
      problems.push(
        `tightens the schema: constraint ${key} on columns that existed (${constraint.columns.join(', ')})`,
      );
    if (
      constraint.references &&
      before.tables.has(constraint.references) &&
      'ar'.includes(constraint.onDelete)
    )
      problems.push(
        `tightens the schema: foreign key ${key} to existing table ${constraint.references} needs ` +
          `ON DELETE CASCADE or SET NULL, else the previous version's deletes fail`,
      );
  }
  return problems;
}

/**
 * Runs one migration's statements in a transaction on `session`, twice, and returns every rule they break (empty
 * when expand-only). `keep` commits the migration, so the next one is checked against it; otherwise it is rolled
 * back.
 */
async function expandOnlyProblems(
  session: SqlExecutor,
  statements: readonly string[],
  keep = false,
): Promise<string[]> {
  const problems = statements.flatMap((statement) => statementProblem(statement) ?? []);
  await session.query('BEGIN');
  try {
    const before = await readCatalog(session);
    const previousColumns = (table: string) =>
      [...before.columns.values()].filter((column) => column.table === table);
    // A table whose previous-version row already fails the probe (say, CHECK (country IS NOT NULL)) is left out.
    const probed = new Set<string>();
    for (const table of before.tables) {
      if (!(await previousInsertProblem(session, table, previousColumns(table), before.tables)))
        probed.add(table);
    }
    const run = async (which: string) => {
      for (const statement of statements) {
        try {
          await session.query(statement);
        } catch (error) {
          return `${which}: ${(error as Error).message}: ${sqlWords(statement).slice(0, 80)}`;
        }
      }
      return undefined;
    };
    const failed = await run("fails inside the migration's transaction");
    if (failed) {
      problems.push(failed);
      return problems;
    }
    const after = await readCatalog(session);
    problems.push(...catalogProblems(before, after));
    for (const table of probed) {
      const added = [...after.columns.values()].some(
        (column) => column.table === table && !before.columns.has(`${table}.${column.column}`),
      );
      if (!added) continue;
      const refused = await previousInsertProblem(session, table, previousColumns(table), after.tables);
      if (refused)
        problems.push(`tightens the schema: the previous version's inserts into ${table} fail: ${refused}`);
    }
    const again = await run('not re-runnable (use IF NOT EXISTS), a second run fails');
    if (again) problems.push(again);
    else if (JSON.stringify(serialise(await readCatalog(session))) !== JSON.stringify(serialise(after)))
      problems.push(
        'not re-runnable: a second run changes the schema again (name every index, IF NOT EXISTS)',
      );
  } finally {
    await session.query(keep && problems.length === 0 ? 'COMMIT' : 'ROLLBACK');
  }
  return problems;
}

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Inserts, into a scratch copy of `table` (its columns, defaults and CHECK constraints), a row as the previous
 * version would: its own columns only, here NULL, so new columns get their defaults and must pass the new
 * checks (a CHECK whose default fails it, or a NOT NULL column left NULL). Returns Postgres's refusal, if any;
 * `tables` guards against a table gone from the catalog. Leaves the transaction as it found it.
 */
async function previousInsertProblem(
  session: SqlExecutor,
  table: string,
  previousColumns: Column[],
  tables: Set<string>,
): Promise<string | undefined> {
  if (!tables.has(table)) return undefined;
  await session.query('SAVEPOINT expand_only_probe');
  try {
    await session.query(
      `CREATE TEMP TABLE expand_only_probe (LIKE ${quoted(table)}
         INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING GENERATED)`,
    );
    for (const column of previousColumns) {
      if (column.notNull && !column.identity)
        await session.query(
          `ALTER TABLE expand_only_probe ALTER COLUMN ${quoted(column.column)} DROP NOT NULL`,
        );
    }
    await session.query('INSERT INTO expand_only_probe DEFAULT VALUES');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await session.query('ROLLBACK TO SAVEPOINT expand_only_probe');
    await session.query('RELEASE SAVEPOINT expand_only_probe');
  }
}

function serialise(catalog: Catalog) {
  return {
    tables: [...catalog.tables].sort(),
    columns: [...catalog.columns.keys()].sort(),
    indexes: [...catalog.indexes.keys()].sort(),
    constraints: [...catalog.constraints.keys()].sort(),
  };
}

// Each row: one migration's statements, and undefined (accepted) or a fragment of the expected refusal.
const CASES: [string | string[], string | undefined][] = [
  // Accepted: what the previous version never sees, or sees filled in for it.
  ['ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS note text', undefined],
  [`ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS note3 text NOT NULL DEFAULT ''`, undefined],
  ['ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS price numeric(10,2) DEFAULT 0', undefined],
  [`ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}'`, undefined],
  [`ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS label text DEFAULT 'it''s; DROP TABLE x'`, undefined],
  [
    'ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS rating integer NOT NULL DEFAULT 0 CHECK (rating >= 0)',
    undefined,
  ],
  ['ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS type text', undefined],
  ['CREATE INDEX IF NOT EXISTS saved_cities_country ON saved_cities (country)', undefined],
  [
    `CREATE TABLE IF NOT EXISTS city_notes (
       id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       city_id bigint NOT NULL REFERENCES saved_cities (id) ON DELETE CASCADE,
       body text NOT NULL CHECK (body <> '')
     )`,
    undefined,
  ],
  [
    [
      'CREATE TABLE IF NOT EXISTS city_tags (city_id bigint REFERENCES saved_cities (id) ON DELETE SET NULL, tag text)',
      'CREATE UNIQUE INDEX IF NOT EXISTS city_tags_tag ON city_tags (city_id, tag)',
    ],
    undefined,
  ],
  // Refused: the previous version would lose something, or get errors it did not get before.
  [
    'CREATE UNIQUE INDEX IF NOT EXISTS x ON saved_cities (user_id, lower(name))',
    'tightens the schema: unique index',
  ],
  [
    'ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS x text DEFAULT NULL NOT NULL',
    'tightens the schema: new column saved_cities.x is NOT NULL without a non-null default',
  ],
  [
    'ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS note text NOT NULL',
    'NOT NULL without a non-null default',
  ],
  [
    'ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS rating integer DEFAULT -1 CHECK (rating >= 0)',
    "tightens the schema: the previous version's inserts into saved_cities fail",
  ],
  [
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS saved_cities_country ON saved_cities (country)',
    'CREATE INDEX CONCURRENTLY cannot run inside a transaction block',
  ],
  [
    'ALTER TABLE saved_cities DROP COLUMN country',
    'contracts the schema: column saved_cities.country dropped',
  ],
  ['ALTER TABLE saved_cities RENAME COLUMN name TO city', 'contracts the schema: column saved_cities.name'],
  ['ALTER TABLE saved_cities RENAME TO cities', 'contracts the schema: table saved_cities'],
  ['DROP TABLE saved_cities', 'contracts the schema'],
  ['DELETE FROM saved_cities', 'contracts the schema'],
  ['TRUNCATE saved_cities', 'contracts the schema'],
  [`UPDATE saved_cities SET country = ''`, 'contracts the schema'],
  [
    'ALTER TABLE saved_cities ALTER COLUMN name TYPE varchar(100)',
    'contracts the schema: column saved_cities.name',
  ],
  ['ALTER TABLE saved_cities ALTER COLUMN created_at DROP DEFAULT', 'contracts the schema: the default'],
  [
    'ALTER TABLE saved_cities ALTER COLUMN country SET NOT NULL',
    'tightens the schema: column saved_cities.country',
  ],
  ['DROP INDEX saved_cities_user_id_id', 'contracts the schema'],
  [
    'ALTER TABLE saved_cities ADD CONSTRAINT short_name CHECK (length(name) < 50)',
    'tightens the schema: constraint saved_cities.short_name on columns that existed',
  ],
  [
    'ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS note text CHECK (length(name) < 50)',
    'on columns that existed (name)',
  ],
  [
    'CREATE TABLE IF NOT EXISTS city_visits (city_id bigint NOT NULL REFERENCES saved_cities (id))',
    'tightens the schema: foreign key city_visits.city_visits_city_id_fkey',
  ],
  [
    'ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS note text; DELETE FROM saved_cities',
    'one command per statement',
  ],
  ['CREATE TABLE cities_archive (id bigint)', 'not re-runnable'],
  ['CREATE INDEX ON saved_cities (country)', 'not re-runnable'],
  ['CREATE VIEW cities AS SELECT * FROM saved_cities', 'not an expanding statement'],
  // Found by a second newcomer: each passed the catalog comparison and broke data or the previous version.
  ['ALTER TABLE saved_cities ALTER COLUMN country TYPE text USING NULL', 'USING rewrites existing values'],
  [
    'CREATE TABLE IF NOT EXISTS copy AS WITH d AS (DELETE FROM saved_cities RETURNING *) SELECT * FROM d',
    'CREATE TABLE AS runs a query',
  ],
  ['CREATE TABLE IF NOT EXISTS copy (LIKE saved_cities) AS SELECT 1', 'CREATE TABLE AS runs a query'],
  ['ALTER TABLE saved_cities ALTER COLUMN id RESTART WITH 1', 'not an expanding statement (ALTER TABLE'],
  ['ALTER TABLE saved_cities ALTER COLUMN id SET MAXVALUE 10', 'not an expanding statement (ALTER TABLE'],
  ['ALTER TABLE saved_cities ENABLE ROW LEVEL SECURITY', 'not an expanding statement (ALTER TABLE'],
  ['ALTER TABLE saved_cities FORCE ROW LEVEL SECURITY', 'not an expanding statement (ALTER TABLE'],
  ['ALTER TABLE saved_cities OWNER TO pg_monitor', 'not an expanding statement (ALTER TABLE'],
  ['ALTER TABLE saved_cities DISABLE TRIGGER ALL', 'not an expanding statement (ALTER TABLE'],
  [
    'ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS a text, OWNER TO pg_monitor',
    'not an expanding statement (ALTER TABLE',
  ],
];

describe('migrations', () => {
  it('are expand-only and re-runnable', async () => {
    const db = await createPgliteDatabase();
    try {
      const problems = await db.withSession(async (session) => {
        const found: string[] = [];
        for (const migration of MIGRATIONS) {
          const broken = await expandOnlyProblems(session, migration.statements, true);
          found.push(...broken.map((problem) => `${migration.name}: ${problem}`));
        }
        return found;
      });
      expect(problems).toEqual([]);
    } finally {
      await db.close();
    }
  }, 180_000);

  describe('the expand-only check, on the latest schema', () => {
    let db: Database;
    beforeAll(async () => {
      db = await createPgliteDatabase();
      await migrateToLatest(db);
    }, 180_000);
    afterAll(() => db.close());

    it.each(CASES)('%s -> %s', async (statements, refusal) => {
      const problems = await db.withSession((session) =>
        expandOnlyProblems(session, typeof statements === 'string' ? [statements] : statements),
      );
      if (refusal === undefined) expect(problems).toEqual([]);
      else expect(problems).toContainEqual(expect.stringContaining(refusal));
    });
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
