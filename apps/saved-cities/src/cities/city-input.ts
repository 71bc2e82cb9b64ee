import { createHash } from 'node:crypto';
import { integerVariable } from '@slipway/service-kit';
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
    // NFC first, so "Zürich" typed as one code point or as "u" + combining diaeresis is one name, stored once.
    .transform((name) => name.normalize('NFC').trim().replace(/\s+/g, ' '))
    .pipe(
      z
        .string()
        .min(1, 'must not be empty')
        .max(100, 'must be at most 100 characters')
        // Commas and digits too: "Washington, D.C.", "6th of October City". Values only ever reach SQL as
        // parameters and pages escaped, so the rule is about plausible names, not about safety.
        .regex(
          /^(?=.*\p{L})[\p{L}\p{M}\p{Nd}][\p{L}\p{M}\p{Nd} .,'’()-]*$/u,
          "must be letters, digits, spaces and . , ' ( ) -, start with a letter or digit and hold a letter",
        ),
    ),
  // The shape only, not ISO's list of assigned codes: user-assigned codes such as XK (Kosovo, as the EU and
  // CLDR use it) and ZZ pass, so the service needs no copy of the standard to keep current.
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
  limit: integerVariable({ min: 1, max: MAX_PAGE_SIZE }).default(DEFAULT_PAGE_SIZE),
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
