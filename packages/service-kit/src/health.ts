import type { Request, Response, Router } from 'express';
import express from 'express';

// IETF draft "Health Check Response Format for HTTP APIs" (draft-inadarei-api-health-check).
export type HealthStatus = 'pass' | 'warn' | 'fail';

export type CheckResult = {
  status: HealthStatus;
  output?: string;
  observedValue?: unknown;
  observedUnit?: string;
  componentType?: string;
  time?: string;
};

/** A named dependency check. It must be cheap: it runs on every `/health` request. */
export type HealthCheck = () => CheckResult | Promise<CheckResult>;

const RANK: Record<HealthStatus, number> = { pass: 0, warn: 1, fail: 2 };

export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();
  private shuttingDown = false;

  constructor(private readonly release: { version: string; releaseId: string; serviceId?: string }) {}

  register(name: string, check: HealthCheck): void {
    this.checks.set(name, check);
  }

  /** Readiness turns 503 from here on; liveness stays 200 so the orchestrator does not kill a draining process. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  async report() {
    const checks: Record<string, CheckResult[]> = {};
    let status: HealthStatus = 'pass';
    for (const [name, check] of this.checks) {
      const result = await Promise.resolve()
        .then(check)
        .catch((error: unknown): CheckResult => ({ status: 'fail', output: errorMessage(error) }));
      checks[name] = [{ ...result, time: result.time ?? new Date().toISOString() }];
      if (RANK[result.status] > RANK[status]) status = result.status;
    }
    if (this.shuttingDown) {
      checks['process:shutdown'] = [
        { status: 'fail', output: 'shutting down', time: new Date().toISOString() },
      ];
      status = 'fail';
    }
    return {
      status,
      version: this.release.version,
      releaseId: this.release.releaseId,
      ...(this.release.serviceId ? { serviceId: this.release.serviceId } : {}),
      checks,
    };
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : 'check failed';
}

function sendHealth(res: Response, httpStatus: number, body: unknown): void {
  res
    .status(httpStatus)
    .type('application/health+json')
    .set('cache-control', 'no-store')
    .set('x-content-type-options', 'nosniff')
    .send(JSON.stringify(body));
}

/**
 * `/health` (full report; 503 only on fail), `/health/live` (process is up) and `/health/ready`
 * (can take traffic: 503 on fail or once shutdown has begun).
 */
export function healthRouter(health: HealthRegistry): Router {
  const router = express.Router();
  router.get('/health', async (_req: Request, res: Response) => {
    const report = await health.report();
    sendHealth(res, report.status === 'fail' ? 503 : 200, report);
  });
  router.get('/health/live', (_req: Request, res: Response) => {
    sendHealth(res, 200, { status: 'pass' });
  });
  router.get('/health/ready', async (_req: Request, res: Response) => {
    const report = await health.report();
    const ready = report.status !== 'fail';
    sendHealth(res, ready ? 200 : 503, {
      status: report.status,
      ...(ready ? {} : { checks: report.checks }),
    });
  });
  return router;
}
