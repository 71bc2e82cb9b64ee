import type { z } from 'zod';

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  bigint: 'a whole number',
  date: 'a date',
};

function bound(issue: { origin?: string; inclusive?: boolean }, value: unknown, direction: 'least' | 'most') {
  const unit =
    issue.origin === 'string'
      ? ' characters'
      : issue.origin === 'array' || issue.origin === 'set'
        ? ' items'
        : '';
  const exact =
    issue.inclusive === false ? (direction === 'least' ? 'more than' : 'less than') : `at ${direction}`;
  return `must be ${exact} ${String(value)}${unit}`;
}

/**
 * A zod error map in plain words, without the value: "is required", "must be a string", "must be at least 1",
 * "has an unknown field: admin". Pass it to `safeParse(value, { error: plainIssueMessages })`; a schema's own
 * messages (a regex's "must be …") still win, as zod ranks schema-level errors above per-parse ones
 * (https://zod.dev/error-customization#error-precedence). The message follows the field's name, so it starts
 * with a verb. zod's defaults ("Invalid input: expected number, received NaN") name the library's types and are
 * not meant for a service's clients or operators.
 */
export const plainIssueMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      // A repeated query parameter (`?limit=1&limit=2`) arrives as a list where one value is expected.
      if (Array.isArray(issue.input) && !['array', 'object'].includes(issue.expected))
        return 'must be given once, not as a list';
      if (typeof issue.input === 'number' && Number.isNaN(issue.input)) return 'must be a number';
      return `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    }
    case 'too_small':
      return bound(issue, issue.minimum, 'least');
    case 'too_big':
      return bound(issue, issue.maximum, 'most');
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return `has ${issue.keys.length === 1 ? 'an unknown field' : 'unknown fields'}: ${issue.keys.join(', ')}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' ? 'is not in the expected format' : `must be a valid ${issue.format}`;
    case 'invalid_union':
      return 'is not any of the accepted forms';
    default:
      return 'is invalid';
  }
};
