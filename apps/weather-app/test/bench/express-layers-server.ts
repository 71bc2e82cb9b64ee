import express from 'express';
import { createLogger, createServiceApp, HealthRegistry, resolveVersionInfo } from '@slipway/service-kit';

// The same JSON body as the app's cached /api/weather, from bare Express 5 (LAYERS=express) or from the chassis
// with a one-line route (LAYERS=chassis: helmet, request ids and logs, health, error handlers). Between the raw
// node:http baseline and the app's own routes, these two rows show where the time goes.
const body = process.env.BASELINE_BODY ?? '{}';
const sendBody = (_req: express.Request, res: express.Response) => {
  res.type('json').send(body);
};

function bareExpress(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get(['/health', '/api/weather'], sendBody);
  return app;
}

function chassis(): express.Express {
  const version = resolveVersionInfo({ env: { APP_VERSION: '0.0.0-bench', GIT_COMMIT_SHA: '0'.repeat(40) } });
  return createServiceApp({
    logger: createLogger({ level: 'info', name: 'chassis-bench' }),
    health: new HealthRegistry({ version: version.version, releaseId: version.commit }),
    version,
    routes: (app) => app.get('/api/weather', sendBody),
  });
}

const app = process.env.LAYERS === 'chassis' ? chassis() : bareExpress();
app.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
