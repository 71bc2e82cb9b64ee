/**
 * Refuses a value that carries credentials before its host: userinfo, `user:password@` or `user@` (RFC 3986
 * §3.2.1, https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1). slipway prints environment URLs and image
 * references in its log lines, its plan and its status, so a password there would reach the job log.
 * Input: the variable's name, its value (a URL `scheme://[userinfo@]host/...`, or an image repository
 * `[userinfo@]host[:port]/path`), an optional hint saying where credentials belong, and `anyAt` for values where
 * an `@` anywhere is refused (an image repository has none: `@` starts a digest).
 * Throws an Error naming the variable, never the value (the CLI reports it in one line, exit code 1).
 */
export function refuseCredentials(
  variable: string,
  value: string,
  hint?: string,
  { anyAt = false }: { anyAt?: boolean } = {},
): void {
  // Read as the WHATWG URL parser reads it (https://url.spec.whatwg.org/#concept-basic-url-parser), or a value like
  // `https:////u:pw@host` would pass here and reach a request with its password: control characters and spaces
  // are dropped, a backslash is a slash, and any number of slashes may follow the scheme.
  const normalised = value
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x20\x7f]/g, '')
    .replace(/\\/g, '/');
  const authority = normalised
    .replace(/^[a-z][a-z0-9+.-]*:/i, '')
    .replace(/^\/+/, '')
    .split(/[/?#]/, 1)[0]!;
  if (authority.includes('@') || (anyAt && normalised.includes('@'))) {
    throw new Error(
      `${variable} must not contain credentials (user:password@ or user@ before the host)${hint ? `; ${hint}` : ''}`,
    );
  }
}
