import type { z } from 'zod';
import { HttpError } from './errors';
import { plainIssueMessages } from './issue-messages';

/**
 * Where a request value came from, so a 400's detail says so: a body or query field is named as the client
 * sent it (`name is required`, `limit must be …`); a path parameter or header by its name and place
 * (`user id in the path must be …`, `Idempotency-Key header must be …`).
 */
export type RequestInputSource =
  { in: 'body' } | { in: 'query' } | { in: 'path'; name: string } | { in: 'header'; name: string };

function subject(source: RequestInputSource, field: string): string {
  switch (source.in) {
    case 'body':
      return field || 'the request body';
    case 'query':
      return field || 'the query';
    case 'path':
      return `${source.name}${field ? ` ${field}` : ''} in the path`;
    case 'header':
      return `${source.name} header${field ? ` ${field}` : ''}`;
  }
}

/** The first issue as "<where> <what it expects>", in plain words and without the value. */
export function describeRequestIssue(error: z.ZodError, source: RequestInputSource): string {
  const issue = error.issues[0];
  if (!issue) return `${subject(source, '')} is invalid`;
  return `${subject(source, issue.path.map(String).join('.'))} ${issue.message}`;
}

/**
 * Parses one request value (a body, a query object, a path parameter or a header) with `schema`, once, into
 * the canonical value later steps use. Returns the parsed value; throws an HttpError 400 `invalid-request`
 * whose detail names the value, where it came from and what it expects (describeRequestIssue), which the
 * chassis's error handler answers as problem+json or a page.
 */
export function parseRequestInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  source: RequestInputSource,
): z.output<S> {
  const result = schema.safeParse(value, { error: plainIssueMessages });
  if (result.success) return result.data;
  throw new HttpError(400, describeRequestIssue(result.error, source), { type: 'invalid-request' });
}
