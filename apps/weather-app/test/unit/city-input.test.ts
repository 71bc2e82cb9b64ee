import { HttpError } from '@slipway/service-kit';
import { matchKey, parseCity, parseUnits } from '../../src/weather/city-input';

// The city is shaped once, here; the service keys its cache by `key` and the demo matches on `match`.
describe('parseCity builds the one City value', () => {
  it('keeps what was asked for (NFC, trimmed) as the query', () => {
    // "Zu\u0308rich" is NFD: the same name as "Zürich", in other code points.
    expect(parseCity('  Zu\u0308rich ').query).toBe('Zürich');
    expect(parseCity('London&appid=x').query).toBe('London&appid=x');
  });

  it('keys the cache case-insensitively, accents kept (two spellings OpenWeather may tell apart stay apart)', () => {
    expect(parseCity('PARIS').key).toBe(parseCity('paris').key);
    expect(parseCity('Zürich').key).not.toBe(parseCity('Zurich').key);
  });

  it('splits "City,CC" once, folding case, accents and spacing for matching', () => {
    expect(parseCity('São  Paulo , br').match).toEqual({ place: 'sao paulo', country: 'br' });
    expect(parseCity('Reykjavík').match).toEqual({ place: 'reykjavik', country: '' });
    expect(parseCity('Paris,FR,extra').match).toEqual({ place: 'paris', country: 'fr' });
    expect(matchKey('ZÜRICH')).toBe(parseCity('zurich').match.place);
  });

  it.each([
    [['a', 'b'], 'Give the city once.'],
    [{ name: 'x' }, 'The city must be text.'],
    [undefined, 'Please enter a city name.'],
    ['   ', 'Please enter a city name.'],
    ['x'.repeat(101), 'A city name has at most 100 characters.'],
    ['Par\u0000is', 'The city name contains control characters.'],
    ['Par\u2028is', 'The city name contains control characters.'],
  ])('refuses %j with a 400 saying why', (raw, detail) => {
    let thrown: unknown;
    try {
      parseCity(raw);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HttpError);
    expect(thrown).toMatchObject({ status: 400, message: detail });
  });

  it('counts characters, not UTF-16 units: 100 astral characters are a valid city', () => {
    expect(parseCity('𝒜'.repeat(100)).query).toHaveLength(200);
  });
});

describe('parseUnits', () => {
  it('defaults to imperial and refuses anything but the two unit systems', () => {
    expect(parseUnits(undefined)).toBe('imperial');
    expect(parseUnits('')).toBe('imperial');
    expect(parseUnits('metric')).toBe('metric');
    expect(() => parseUnits('kelvin')).toThrow('units must be one of: imperial, metric.');
  });
});
