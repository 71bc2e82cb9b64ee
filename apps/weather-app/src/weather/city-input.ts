import { HttpError } from '@slipway/service-kit';
import { UNITS, type Units } from './weather-report';

export const MAX_CITY_LENGTH = 100;
// Control characters (C0, DEL, C1) and Unicode line/paragraph separators have no place in a city name.
const CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029]/u;

function badInput(detail: string): HttpError {
  return new HttpError(400, detail, { type: 'invalid-request', title: 'Bad Request' });
}

/**
 * A city as the module uses it everywhere after the route: built once by parseCity, never reshaped later.
 * OpenWeather's `q` takes "City" or "City,CC" (https://openweathermap.org/current#name), so the parts are
 * split here once too.
 */
export type City = Readonly<{
  /** What was asked for, NFC-normalised and trimmed ("São Paulo,BR"): sent upstream and quoted in messages. */
  query: string;
  /** The query in lower case: the cache's identity, so "Paris" and "PARIS" share one entry and one call. */
  key: string;
  /**
   * The place and the country code ('' when none was given), each folded by `matchKey`: what a provider that
   * knows its places itself (the demo) compares with its own names, folded the same way.
   */
  match: Readonly<{ place: string; country: string }>;
}>;

/**
 * Case-, accent- and spacing-insensitive form of a place name or country code, so "sao  paulo" and "ZURICH"
 * find "São Paulo" and "Zürich" as OpenWeather would: NFD with the combining marks removed, lower case,
 * whitespace runs as one space.
 */
export function matchKey(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * Validates a city from a query string or form and builds the one City value the service and providers use.
 * Express parses repeated parameters into arrays, and a city must be given once, as text.
 * Throws HttpError 400 (`invalid-request`) naming what is wrong.
 */
export function parseCity(raw: unknown): City {
  if (Array.isArray(raw)) throw badInput('Give the city once.');
  if (raw !== undefined && typeof raw !== 'string') throw badInput('The city must be text.');
  const query = (raw ?? '').normalize('NFC').trim();
  if (query === '') throw badInput('Please enter a city name.');
  if ([...query].length > MAX_CITY_LENGTH)
    throw badInput(`A city name has at most ${MAX_CITY_LENGTH} characters.`);
  if (CONTROL_CHARACTERS.test(query)) throw badInput('The city name contains control characters.');
  // Anything after a second comma is not part of OpenWeather's "City,CC" and plays no part in matching.
  const [place = '', country = ''] = query.split(',');
  return {
    query,
    key: query.toLowerCase(),
    match: { place: matchKey(place), country: matchKey(country) },
  };
}

/** `imperial` when absent or empty (the original sample's unit); anything else but `metric` is a 400. */
export function parseUnits(raw: unknown): Units {
  if (raw === undefined || raw === '') return 'imperial';
  if (typeof raw === 'string' && (UNITS as readonly string[]).includes(raw)) return raw as Units;
  throw badInput(`units must be one of: ${UNITS.join(', ')}.`);
}
