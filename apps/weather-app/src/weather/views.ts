import { escapeHtml, type ProblemDetails } from '@slipway/service-kit';
import { MAX_CITY_LENGTH } from './city-input';
import type { WeatherReport } from './weather-report';
import type { WeatherLookup } from './weather-service';

// No inline scripts, so helmet's default Content-Security-Policy holds; inline styles are allowed by it.
const STYLE = `body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.6rem}form{display:flex;gap:.5rem}input[type=text]{flex:1;padding:.5rem;font-size:1rem}
button{padding:.5rem 1rem;font-size:1rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem}
dt{font-weight:600}.demo{background:#fff4ce;border:1px solid #e0c25c;padding:.5rem .75rem;border-radius:4px}
.error{background:#fde7e9;border:1px solid #d13438;padding:.5rem .75rem;border-radius:4px}a{color:#0b5cad}
.missing{color:#57606a;font-style:italic}`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>`;
}

const DEMO_NOTICE =
  '<p class="demo" role="note"><strong>Demo data.</strong> No OpenWeather API key is configured, so these ' +
  'are built-in sample values, not live weather. Set <code>OPENWEATHER_API_KEY</code> for real data.</p>';

function demoCityList(demoCities: readonly string[]): string {
  return `<p>Demo mode knows these cities only: ${demoCities.map((c) => escapeHtml(c)).join(', ')}.</p>`;
}

function cityForm(value = ''): string {
  return `<form method="post" action="/weather">
<label for="city">City</label>
<input type="text" id="city" name="city" value="${escapeHtml(value)}" maxlength="${MAX_CITY_LENGTH}" required autofocus>
<button type="submit">Get weather</button>
</form>`;
}

export function renderIndexPage({
  demo,
  demoCities,
}: {
  demo: boolean;
  demoCities: readonly string[];
}): string {
  const hint = demo ? `${DEMO_NOTICE}${demoCityList(demoCities)}` : '';
  return layout('Weather', `<h1>Check the weather</h1>\n${hint}\n${cityForm()}`);
}

const NOT_REPORTED = '<span class="missing">not reported</span>';

/** A value the upstream left out of a partial reading reads "not reported", never "null" or a bare unit. */
function reported(value: number | string | null, suffix = ''): string {
  return value === null ? NOT_REPORTED : `${escapeHtml(value)}${escapeHtml(suffix)}`;
}

export function renderWeatherPage(report: WeatherReport, { stale }: { stale: boolean }): string {
  const place = report.country ? `${report.city}, ${report.country}` : report.city;
  const staleNote = stale
    ? '<p class="demo" role="note">The weather service is not answering; this is the last reading we have.</p>'
    : '';
  return layout(
    `Weather in ${place}`,
    `<h1>Weather Information for ${escapeHtml(place)}</h1>
${report.source === 'demo' ? DEMO_NOTICE : ''}${staleNote}
<dl>
<dt>Temperature</dt><dd id="temperature">${reported(report.temperature, ` ${report.temperatureUnit}`)}</dd>
<dt>Humidity</dt><dd id="humidity">${reported(report.humidity, '%')}</dd>
<dt>Description</dt><dd id="description">${reported(report.description)}</dd>
</dl>
<p><a href="/">Check another city</a></p>`,
  );
}

/**
 * A cache hit hands back the same report object every time, so its page and its JSON are rendered once per
 * cached reading instead of once per request. Rendering depends on nothing but the lookup, so one memo serves
 * every app instance; the WeakMaps let a text go when the service's cache drops its report.
 */
function renderedOncePerReading(
  render: (lookup: WeatherLookup) => string,
): (lookup: WeatherLookup) => string {
  const fresh = new WeakMap<WeatherReport, string>();
  const stale = new WeakMap<WeatherReport, string>();
  return (lookup) => {
    const rendered = lookup.cache === 'stale' ? stale : fresh;
    let text = rendered.get(lookup.report);
    if (text === undefined) {
      text = render(lookup);
      rendered.set(lookup.report, text);
    }
    return text;
  };
}

/** The weather page (HTML) of a lookup, with the stale-if-error note when it came from a stale entry. */
export const weatherPage = renderedOncePerReading(({ report, cache }) =>
  renderWeatherPage(report, { stale: cache === 'stale' }),
);

/** The JSON API's body: the report, plus `demo` (demo data) and `stale` (served past its TTL). */
export const weatherJson = renderedOncePerReading(({ report, cache }) =>
  JSON.stringify({ ...report, demo: report.source === 'demo', stale: cache === 'stale' }),
);

/**
 * The error page of this service. In demo mode every error page (an unknown city, a 400, a 404 for a path)
 * carries the demo label and the cities the demo knows, so nobody mistakes the demo for a broken service.
 */
export function errorPageRenderer({
  demo,
  demoCities,
}: {
  demo: boolean;
  demoCities: readonly string[];
}): (problem: ProblemDetails) => string {
  const demoNote = demo ? `${DEMO_NOTICE}\n${demoCityList(demoCities)}\n` : '';
  return (problem) =>
    layout(
      `${problem.title}`,
      `<h1>${escapeHtml(problem.title)}</h1>
${demoNote}<p class="error" role="alert">${escapeHtml(problem.detail)}</p>
${problem.status < 500 || problem.status === 503 ? cityForm() : ''}
<p><a href="/">Back to the form</a></p>
${problem.requestId ? `<p><small>Request id: ${escapeHtml(problem.requestId)}</small></p>` : ''}`,
    );
}

/** The error page outside demo mode. */
export const renderErrorPage = errorPageRenderer({ demo: false, demoCities: [] });
