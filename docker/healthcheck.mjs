// HEALTHCHECK for the service images: GET /health and exit 0 when it answers `pass` or `warn`, 1 otherwise.
// A node script because the slim base image has neither curl nor wget.
//
// `warn` is healthy: it means a dependency outside the container (an upstream API) is in trouble while the
// service still answers, from its cache and with mapped errors. Restarting or replacing the container would
// not help, and a deploy verification must not roll a good release back for it (issue 11). The warning is
// printed, so `docker inspect` shows it in the health log. `fail`, any other status, a non-2xx answer and
// no answer within 3 s are failures.
//
// Exit codes follow Docker's HEALTHCHECK contract: 0 healthy, 1 unhealthy
// (https://docs.docker.com/reference/dockerfile/#healthcheck).
const port = process.env.PORT ?? '3000';
const healthUrl = `http://127.0.0.1:${port}/health`;

function warnings(checks) {
  if (typeof checks !== 'object' || checks === null) return [];
  return Object.entries(checks).flatMap(([name, results]) =>
    (Array.isArray(results) ? results : [])
      .filter((result) => result?.status === 'warn')
      .map((result) => `${name}: ${typeof result.output === 'string' ? result.output : 'warn'}`),
  );
}

try {
  const response = await fetch(healthUrl, { signal: AbortSignal.timeout(3000) });
  const body = await response.json();
  if (response.ok && body.status === 'pass') process.exit(0);
  if (response.ok && body.status === 'warn') {
    const details = warnings(body.checks);
    console.log(`healthy with a warning: ${details.length > 0 ? details.join('; ') : 'status warn'}`);
    process.exit(0);
  }
  console.error(`${healthUrl} answered ${response.status} with status ${JSON.stringify(body.status)}`);
} catch (error) {
  console.error(`${healthUrl} failed: ${error instanceof Error ? error.message : String(error)}`);
}
process.exit(1);
