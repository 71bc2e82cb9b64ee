import { createHash } from 'node:crypto';
import { z } from 'zod';

// A user id stands in for the identity an authenticating gateway would pass; this service keeps no accounts.
export const userIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, "_" or "-"');

export const cityIdSchema = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a city id from this API');

/** The body of an add, parsed once into the canonical value every later step uses. */
export const newCitySchema = z.strictObject({
  name: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .transform((name) => name.trim().replace(/\s+/g, ' '))
    .pipe(
      z
        .string()
        .min(1, 'must not be empty')
        .max(100, 'must be at most 100 characters')
        .regex(/^[\p{L}\p{M}][\p{L}\p{M} .'’()-]*$/u, "must be letters, spaces and . ' ( ) -"),
    ),
  country: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as "GB"')
    .transform((code) => code.toUpperCase())
    .optional(),
});

export type NewCity = z.infer<typeof newCitySchema>;

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export const listQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`)
    .default(DEFAULT_PAGE_SIZE),
  cursor: z
    .string()
    .transform((cursor) => Buffer.from(cursor, 'base64url').toString('utf8'))
    .pipe(z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a nextCursor value from a previous page'))
    .optional(),
});

export function cursorAfter(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

// The Idempotency-Key header (IETF draft-ietf-httpapi-idempotency-key-header): an opaque client string. A
// Structured Fields string arrives quoted; the quotes are not part of the key.
export const idempotencyKeySchema = z
  .string()
  .transform((key) => (/^".*"$/.test(key) ? key.slice(1, -1) : key))
  .pipe(z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters'));

/** Same canonical body, same fingerprint, whatever the JSON's spacing or key order. */
export function fingerprintOf(city: NewCity): string {
  return createHash('sha256')
    .update(JSON.stringify([city.name, city.country ?? null]))
    .digest('base64url');
}

/** The first issue, as "<field> <message>", for a problem's detail. */
export function describeIssue(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0];
  const field = issue?.path.join('.') || 'body';
  if (issue?.code === 'unrecognized_keys') return `${prefix}${issue.message}`;
  return `${prefix}${field} ${issue?.message ?? 'is invalid'}`;
}
