// The schema's history, oldest first. Rules, checked by test/unit/migrations.test.ts:
// - Expand-only: a migration adds (tables, nullable or defaulted columns, indexes) and never drops, renames,
//   retypes or tightens. The version running before a deploy keeps working on the new schema, so the migrate
//   step can run before the new version serves, and a rollback needs no down migration. On a table that existed
//   before the migration, tightening includes SET NOT NULL, a NOT NULL column without a non-null default, a
//   unique index and a constraint on existing columns; and a foreign key to an existing table needs ON DELETE
//   CASCADE or SET NULL, else the previous version's deletes fail. A table the same migration creates is free.
// - Only CREATE TABLE, CREATE INDEX and ALTER TABLE ... ADD (no CREATE TABLE AS, no USING, no sequence,
//   row-level security, owner or trigger changes). The check cannot tell whether an expression (an expression
//   index, a partial index's WHERE, a generated column) fails for values the previous version writes: review those.
// - One transaction per migration (migrate.ts): so no CREATE INDEX CONCURRENTLY, which cannot run inside one.
// - Re-runnable: IF NOT EXISTS everywhere, since a crash between a migration and its record repeats it.
// - Never edit or reorder a released migration: add a new file and append it here.
import { statements as savedCities0001 } from './0001-saved-cities';

export interface SchemaMigration {
  /** Recorded in slipway_migrations; the order of this list is the order they run in. */
  name: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly SchemaMigration[] = [
  { name: '0001-saved-cities', statements: savedCities0001 },
];
