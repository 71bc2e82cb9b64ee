// HEALTHCHECK for the service images: exits 0 only when GET /health answers {"status":"pass"}.
// A node script because the slim base image has neither curl nor wget.
const port = process.env.PORT ?? '3000';
const healthUrl = `http://127.0.0.1:${port}/health`;

try {
  const response = await fetch(healthUrl, { signal: AbortSignal.timeout(3000) });
  const body = await response.json();
  if (response.ok && body.status === 'pass') process.exit(0);
  console.error(`${healthUrl} answered ${response.status} with status ${JSON.stringify(body.status)}`);
} catch (error) {
  console.error(`${healthUrl} failed: ${error instanceof Error ? error.message : String(error)}`);
}
process.exit(1);
