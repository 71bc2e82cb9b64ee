import { z } from 'zod';
import { baseEnvSchema, ConfigError, HttpError, loadConfig, parseRequestInput } from '../src';

const detailOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(400);
    expect((error as HttpError).options.type).toBe('invalid-request');
    return (error as HttpError).detail;
  }
  throw new Error('expected a 400');
};

describe('parseRequestInput', () => {
  const body = z.strictObject({ name: z.string(), size: z.number().int().min(1).max(9).optional() });

  it('returns the parsed value', () => {
    expect(parseRequestInput(body, { name: 'Ada' }, { in: 'body' })).toEqual({ name: 'Ada' });
  });

  it.each([
    [{}, 'name is required'],
    [{ name: 4 }, 'name must be a string'],
    [{ name: 'a', size: 0 }, 'size must be at least 1'],
    [{ name: 'a', size: 10 }, 'size must be at most 9'],
    [{ name: 'a', size: 1.5 }, 'size must be a whole number'],
    [{ name: 'a', role: 'x' }, 'the request body has an unknown field: role'],
    ['text', 'the request body must be an object'],
  ])('says what a body field needs in plain words, never zod’s (%j)', (value, detail) => {
    const said = detailOf(() => parseRequestInput(body, value, { in: 'body' }));
    expect(said).toBe(detail);
    expect(said).not.toMatch(/Invalid input|expected|received|Too (small|big)|NaN/);
  });

  it('names where a path parameter or header came from, never "body"', () => {
    const id = z.string().regex(/^\d+$/, 'must be digits');
    expect(detailOf(() => parseRequestInput(id, 'x', { in: 'path', name: 'order id' }))).toBe(
      'order id in the path must be digits',
    );
    expect(detailOf(() => parseRequestInput(id, 'x', { in: 'header', name: 'If-Match' }))).toBe(
      'If-Match header must be digits',
    );
  });

  it('says a repeated query parameter must be given once', () => {
    const query = z.object({ q: z.string() });
    expect(detailOf(() => parseRequestInput(query, { q: ['a', 'b'] }, { in: 'query' }))).toBe(
      'q must be given once, not as a list',
    );
  });
});

describe('configuration messages', () => {
  it('uses plain words for a schema without its own message', () => {
    const schema = baseEnvSchema.extend({ NAME: z.string().min(3), COUNT: z.coerce.number().min(1) });
    expect(() => loadConfig(schema, { NAME: 'ab', COUNT: 'abc' })).toThrow(
      new ConfigError('Invalid configuration: NAME must be at least 3 characters; COUNT must be a number'),
    );
  });
});
