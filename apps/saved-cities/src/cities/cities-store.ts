import type { Database, SqlExecutor } from '../database';
import { cursorAfter, fingerprintOf, type NewCity } from './city-input';

export interface SavedCity {
  id: string;
  name: string;
  /** ISO 3166-1 alpha-2, or null when the user gave none. */
  country: string | null;
  /** ISO 8601. */
  createdAt: string;
}

export interface CityPage {
  items: SavedCity[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** What an add answered; stored per idempotency key so a repeated request gets the same answer. */
export type AddOutcome =
  { status: 201; city: SavedCity } | { status: 409; problem: { type: 'city-already-saved'; detail: string } };

export type AddResult =
  | (AddOutcome & { replayed: boolean })
  | { status: 422; problem: { type: 'idempotency-key-reused'; detail: string } };

interface CityRow {
  id: string;
  name: string;
  country: string | null;
  created_at: Date | string;
}

const CITY_COLUMNS = 'id::text AS id, name, country, created_at';

function toCity(row: CityRow): SavedCity {
  return {
    id: row.id,
    name: row.name,
    country: row.country,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

async function insertCity(sql: SqlExecutor, userId: string, city: NewCity): Promise<AddOutcome> {
  const { rows } = await sql.query<CityRow>(
    `INSERT INTO saved_cities (user_id, name, country) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, lower(name), coalesce(country, '')) DO NOTHING
     RETURNING ${CITY_COLUMNS}`,
    [userId, city.name, city.country ?? null],
  );
  const row = rows[0];
  if (row) return { status: 201, city: toCity(row) };
  const where = city.country ? `${city.name}, ${city.country}` : city.name;
  return { status: 409, problem: { type: 'city-already-saved', detail: `${where} is already saved` } };
}

/** A user's saved cities in Postgres (or PGlite). Every method is one statement or one transaction. */
export class CitiesStore {
  constructor(private readonly db: Database) {}

  /** Oldest first, `limit` (1..100) at a time; `afterId` continues after a previous page (keyset pagination). */
  async list(userId: string, { limit, afterId }: { limit: number; afterId?: string }): Promise<CityPage> {
    const rows = await this.db.query<CityRow>(
      `SELECT ${CITY_COLUMNS} FROM saved_cities
       WHERE user_id = $1 AND saved_cities.id > $2 ORDER BY saved_cities.id LIMIT $3`,
      [userId, afterId ?? '0', limit + 1],
      { safeToRepeat: true },
    );
    const items = rows.slice(0, limit).map(toCity);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? cursorAfter(last.id) : null };
  }

  /**
   * Adds a city. With an idempotency key, the first request's outcome is stored with the key in the same
   * transaction, and a repeat of the same body gets that outcome again (replayed: true); a different body under
   * the same key gets 422. A concurrent request with the same key waits on the key's row and then replays.
   * Only a keyed add is repeated after a lost connection: the key makes a second attempt find the first one's
   * outcome if it had committed.
   */
  async add(userId: string, city: NewCity, idempotencyKey?: string): Promise<AddResult> {
    if (idempotencyKey === undefined) {
      // One statement, never repeated: without a key, a second attempt could not tell its own first one apart.
      const once: SqlExecutor = {
        query: async <R extends object>(text: string, params?: unknown[]) => ({
          rows: await this.db.query<R>(text, params),
        }),
      };
      return { ...(await insertCity(once, userId, city)), replayed: false };
    }
    const fingerprint = fingerprintOf(city);
    return this.db.transaction(
      async (tx): Promise<AddResult> => {
        const claimed = await tx.query(
          `INSERT INTO idempotency_keys (user_id, key, request_fingerprint, response)
           VALUES ($1, $2, $3, '{}') ON CONFLICT DO NOTHING RETURNING key`,
          [userId, idempotencyKey, fingerprint],
        );
        if (claimed.rows.length === 0) {
          const { rows } = await tx.query<{ request_fingerprint: string; response: AddOutcome }>(
            'SELECT request_fingerprint, response FROM idempotency_keys WHERE user_id = $1 AND key = $2',
            [userId, idempotencyKey],
          );
          const stored = rows[0];
          if (stored && stored.request_fingerprint === fingerprint)
            return { ...stored.response, replayed: true };
          return {
            status: 422,
            problem: {
              type: 'idempotency-key-reused',
              detail: 'this Idempotency-Key was already used with a different request body',
            },
          };
        }
        const outcome = await insertCity(tx, userId, city);
        await tx.query('UPDATE idempotency_keys SET response = $3 WHERE user_id = $1 AND key = $2', [
          userId,
          idempotencyKey,
          JSON.stringify(outcome),
        ]);
        return { ...outcome, replayed: false };
      },
      { safeToRepeat: true },
    );
  }

  /** True when the city was there and is now removed. Not repeated after a lost connection. */
  async remove(userId: string, cityId: string): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM saved_cities WHERE user_id = $1 AND id = $2 RETURNING id', [
      userId,
      cityId,
    ]);
    return rows.length > 0;
  }
}
