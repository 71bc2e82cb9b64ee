import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startWeatherApp, weatherAppRoot, type NodeProcess } from '../support/processes';

const SITE_HOST = 'weather.test';
// Debian's chromium; playwright-core never downloads a browser. CHROMIUM_PATH points elsewhere if needed.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--no-proxy-server',
  // The app is reached by a host name that is not localhost: browsers treat localhost as a secure context and
  // exempt it from some policies (a CSP `upgrade-insecure-requests` once broke the form on every other host).
  `--host-resolver-rules=MAP ${SITE_HOST} 127.0.0.1`,
];
const SCREENSHOTS = join(weatherAppRoot(), 'test-output', 'browser');

describe('the weather form in a real browser', () => {
  let app: NodeProcess;
  let userDataDir: string;
  let browser: BrowserContext;
  let page: Page;
  let site: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    app = await startWeatherApp({ env: { NODE_ENV: 'production', WEATHER_PROVIDER: 'demo' } });
    site = app.url.replace('127.0.0.1', SITE_HOST);
    userDataDir = mkdtempSync(join(tmpdir(), 'weather-app-chromium-'));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 900, height: 700 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    // A Content-Security-Policy violation or a script error shows up here.
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const { url } = message.location();
      // Chromium reports every 404 as a console error: the expected one for Atlantis, and /favicon.ico,
      // which the app does not serve.
      const expected404 = message.text().includes('status of 404') && /\/(weather|favicon\.ico)$/.test(url);
      // Over plain HTTP on a host that is not localhost, Chromium ignores helmet's Cross-Origin-Opener-Policy
      // (it applies to HTTPS only) and says so; the header does its work once the service is served over TLS.
      const coopOverHttp = message
        .text()
        .startsWith('The Cross-Origin-Opener-Policy header has been ignored');
      if (!expected404 && !coopOverHttp) consoleErrors.push(`${message.text()} (${url})`);
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('looks up a city from the form and shows its weather', async () => {
    const index = await page.goto(`${site}/`);
    expect(index?.status()).toBe(200);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Check the weather');
    await page.screenshot({ path: join(SCREENSHOTS, '01-form.png'), fullPage: true });

    await page.getByLabel('City').fill('London');
    const [result] = await Promise.all([
      page.waitForResponse((response) => response.url().endsWith('/weather')),
      page.getByRole('button', { name: 'Get weather' }).click(),
    ]);
    expect(result.status()).toBe(200);
    // Over plain HTTP, the form posts to plain HTTP on the same host (no upgrade to https).
    expect(result.url()).toBe(`${site}/weather`);
    await page.waitForLoadState('load');

    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      'Weather Information for London, GB',
    );
    // The demo's London: 9.4 °C, shown in the sample's default imperial units.
    await expect(page.locator('#temperature').textContent()).resolves.toBe('49 °F');
    await expect(page.locator('#humidity').textContent()).resolves.toBe('81%');
    await expect(page.getByRole('note').textContent()).resolves.toContain('Demo data.');
    await page.screenshot({ path: join(SCREENSHOTS, '02-weather-london.png'), fullPage: true });
  });

  it('shows the demo-labelled error page for a city outside the demo, with the form to try again', async () => {
    await page.getByRole('link', { name: 'Check another city' }).click();
    await page.waitForURL(`${site}/`);
    await page.getByLabel('City').fill('Atlantis');
    const [result] = await Promise.all([
      page.waitForResponse((response) => response.url().endsWith('/weather')),
      page.getByRole('button', { name: 'Get weather' }).click(),
    ]);
    expect(result.status()).toBe(404);
    await page.waitForLoadState('load');

    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('City not found');
    // Demo mode: the page says what the demo knows instead of "check the spelling", under the demo label.
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(
      /^Demo mode knows only these cities: London, .*"Atlantis" is not one of them/,
    );
    await expect(page.getByRole('note').first().textContent()).resolves.toContain('Demo data.');
    await expect(page.getByLabel('City').isVisible()).resolves.toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, '03-unknown-city.png'), fullPage: true });
  });

  it('raised no script errors or Content-Security-Policy violations', () => {
    expect(consoleErrors).toEqual([]);
  });
});
