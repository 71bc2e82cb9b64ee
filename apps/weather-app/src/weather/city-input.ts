import { HttpError } from '@slipway/service-kit';
import { UNITS, type Units } from './weather';

export const MAX_CITY_LENGTH = 100;
// Control characters (C0, DEL, C1) and Unicode line/paragraph separators have no place in a city name.
const CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029]/u;

function badInput(detail: string): HttpError {
  return new HttpError(400, detail, { type: 'invalid-input', title: 'Bad Request' });
}

/**
 * Validates a city from a query string or form. Express parses repeated parameters into arrays, and
 * a city must be given once, as text.
 */
export function parseCity(raw: unknown): string {
  if (Array.isArray(raw)) throw badInput('Give the city once.');
  if (raw !== undefined && typeof raw !== 'string') throw badInput('The city must be text.');
  const city = (raw ?? '').normalize('NFC').trim();
  if (city === '') throw badInput('Please enter a city name.');
  if ([...city].length > MAX_CITY_LENGTH)
    throw badInput(`A city name has at most ${MAX_CITY_LENGTH} characters.`);
  if (CONTROL_CHARACTERS.test(city)) throw badInput('The city name contains control characters.');
  return city;
}

export function parseUnits(raw: unknown): Units {
  if (raw === undefined || raw === '') return 'imperial';
  if (typeof raw === 'string' && (UNITS as readonly string[]).includes(raw)) return raw as Units;
  throw badInput(`units must be one of: ${UNITS.join(', ')}.`);
}
