import type { HelmetOptions } from 'helmet';

/**
 * helmet's defaults, less the CSP directive `upgrade-insecure-requests`.
 *
 * Rule: the chassis never sends `upgrade-insecure-requests`, because it cannot know whether the page was served
 * over TLS (TLS usually terminates at a proxy, and `trust proxy` is off). On a page served over plain HTTP from any
 * host but localhost, the directive makes the browser send the form's POST to `https://host:PORT/…`, where nothing
 * speaks TLS, and `form-action 'self'` then blocks the upgraded target: the form does nothing. Where the service
 * is served over TLS, helmet's `Strict-Transport-Security` (kept) does the upgrading instead: browsers honour it
 * only when it arrives over HTTPS (RFC 6797 §8.1), so it is harmless over plain HTTP.
 */
export const HELMET_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
};
