/**
 * Refuses a value that carries credentials before its host: userinfo, `user:password@` or `user@` (RFC 3986
 * §3.2.1, https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1). slipway prints environment URLs and image
 * references in its log lines, its plan and its status, so a password there would reach the job log.
 * Input: the variable's name, its value (a URL `scheme://[userinfo@]host/...`, or an image repository
 * `[userinfo@]host[:port]/path`) and an optional hint saying where credentials belong.
 * Throws an Error naming the variable, never the value (the CLI reports it in one line, exit code 1).
 */
export function refuseCredentials(variable: string, value: string, hint?: string): void {
  const authority = value
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    // Where the authority ends; WHATWG URL parsing reads a backslash as a slash in http(s) URLs.
    .split(/[/\\?#]/, 1)[0]!;
  if (authority.includes('@')) {
    throw new Error(
      `${variable} must not contain credentials (user:password@ or user@ before the host)${hint ? `; ${hint}` : ''}`,
    );
  }
}
