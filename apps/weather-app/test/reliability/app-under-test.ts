import { OpenWeatherStub, STUB_API_KEY } from '../support/openweather-stub';
import { startWeatherApp, type NodeProcess } from '../support/processes';

/**
 * Reads the app's log lines as they come, without keeping a long run's worth of them: it counts them, keeps
 * any that carry the API key or are not JSON, and keeps those at level error or above.
 */
export class LogWatch {
  lineCount = 0;
  readonly leaks: string[] = [];
  readonly notJson: string[] = [];
  readonly errors: string[] = [];
  readonly messages = new Set<string>();
  /** The `problem` of each warn line "request failed": an expected failure, logged once with its cause. */
  readonly problems: Array<{ type?: string; status?: number; cause?: string }> = [];

  constructor(private readonly secret: string) {}

  readonly add = (line: string): void => {
    if (line === '') return;
    this.lineCount += 1;
    if (line.includes(this.secret)) this.leaks.push(line);
    let entry: { level?: string; msg?: string; problem?: LogWatch['problems'][number] };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      this.notJson.push(line);
      return;
    }
    if (entry.msg) this.messages.add(entry.msg);
    if (entry.level === 'error' || entry.level === 'fatal') this.errors.push(line);
    if (entry.level === 'warn' && entry.msg === 'request failed' && entry.problem)
      this.problems.push(entry.problem);
  };
}

export type AppUnderTest = { app: NodeProcess; logs: LogWatch };

/** dist/server.js in its own process, production mode, talking to the loopback OpenWeather stub. */
export async function startAppAgainstStub(
  stub: OpenWeatherStub,
  env: Record<string, string> = {},
): Promise<AppUnderTest> {
  const logs = new LogWatch(STUB_API_KEY);
  const app = await startWeatherApp({
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      OPENWEATHER_API_KEY: STUB_API_KEY,
      OPENWEATHER_BASE_URL: stub.url,
      ...env,
    },
    onLine: logs.add,
  });
  return { app, logs };
}

export const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };
