// Expand-only (see migrations/index.ts): every statement is re-runnable (IF NOT EXISTS).
export const statements = [
  `CREATE TABLE IF NOT EXISTS saved_cities (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     user_id text NOT NULL,
     name text NOT NULL,
     country text,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  // One row per user and city, whatever the letter case; a missing country counts as one value.
  `CREATE UNIQUE INDEX IF NOT EXISTS saved_cities_user_city
     ON saved_cities (user_id, lower(name), coalesce(country, ''))`,
  // Keyset pagination: WHERE user_id = $1 AND id > $cursor ORDER BY id.
  `CREATE INDEX IF NOT EXISTS saved_cities_user_id_id ON saved_cities (user_id, id)`,
  // The stored outcome of each add, per client key, so a repeated request gets the same answer.
  `CREATE TABLE IF NOT EXISTS idempotency_keys (
     user_id text NOT NULL,
     key text NOT NULL,
     request_fingerprint text NOT NULL,
     response jsonb NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (user_id, key)
   )`,
];
