// ensurePipelineSchedule against a loopback stand-in for GitLab's pipeline schedules API (the internet boundary).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGitlabClient } from '../src/gitlab/gitlab-client';
import {
  defaultReconcileSchedule,
  ensurePipelineSchedule,
  RECONCILE_SCHEDULE_DESCRIPTION,
} from '../src/gitlab/pipeline-schedule';

interface Schedule {
  id: number;
  description: string;
  ref: string;
  cron: string;
  cron_timezone: string;
  active: boolean;
}

const TOKEN = 'glpat-schedule-test-0123456789';
let server: http.Server;
let url: string;
let schedules: Schedule[];
let requests: string[];
let answerList: () => unknown;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      requests.push(`${request.method} ${request.url?.split('?')[0]}`);
      const send = (status: number, payload: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(payload));
      };
      if (request.headers['private-token'] !== TOKEN) return send(401, { message: '401 Unauthorized' });
      const base = '/api/v4/projects/group%2Fapp/pipeline_schedules';
      const path = request.url?.split('?')[0] ?? '';
      const fields = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      if (request.method === 'GET' && path === base) return send(200, answerList());
      if (request.method === 'POST' && path === base) {
        const created: Schedule = {
          id: schedules.length + 1,
          description: String(fields.description),
          ref: String(fields.ref),
          cron: String(fields.cron),
          cron_timezone: String(fields.cron_timezone ?? 'UTC'),
          active: fields.active !== false,
        };
        schedules.push(created);
        return send(201, created);
      }
      const edit = new RegExp(`^${base.replace(/[%]/g, '\\%')}/(\\d+)$`).exec(path);
      if (request.method === 'PUT' && edit) {
        const schedule = schedules.find((candidate) => candidate.id === Number(edit[1]));
        if (!schedule) return send(404, { message: '404 Not found' });
        Object.assign(schedule, {
          ...(fields.ref ? { ref: fields.ref } : {}),
          ...(fields.cron ? { cron: fields.cron } : {}),
          ...(fields.cron_timezone ? { cron_timezone: fields.cron_timezone } : {}),
          ...(fields.active !== undefined ? { active: fields.active } : {}),
        });
        return send(200, schedule);
      }
      return send(404, { message: '404 Not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  schedules = [];
  requests = [];
  answerList = () => schedules;
});

const client = () => createGitlabClient({ host: url, token: TOKEN });

it('creates the hourly reconcile schedule on the default branch when there is none', async () => {
  const report = await ensurePipelineSchedule(client(), 'group/app', defaultReconcileSchedule('main'));

  expect(report).toEqual({
    line: `created   pipeline schedule "${RECONCILE_SCHEDULE_DESCRIPTION}" (17 * * * * UTC on main)`,
    changed: true,
  });
  expect(schedules).toEqual([
    {
      id: 1,
      description: RECONCILE_SCHEDULE_DESCRIPTION,
      ref: 'main',
      cron: '17 * * * *',
      cron_timezone: 'UTC',
      active: true,
    },
  ]);
});

it('leaves a matching schedule alone, so setup can run again', async () => {
  await ensurePipelineSchedule(client(), 'group/app', defaultReconcileSchedule('main'));
  requests = [];
  const again = await ensurePipelineSchedule(client(), 'group/app', defaultReconcileSchedule('main'));

  expect(again.changed).toBe(false);
  expect(again.line).toMatch(/^unchanged /);
  expect(requests).toEqual(['GET /api/v4/projects/group%2Fapp/pipeline_schedules']);
  expect(schedules).toHaveLength(1);
});

it('repairs a schedule someone deactivated or moved to another branch, and says what changed', async () => {
  schedules.push({
    id: 7,
    description: RECONCILE_SCHEDULE_DESCRIPTION,
    ref: 'develop',
    cron: '0 3 * * *',
    cron_timezone: 'UTC',
    active: false,
  });

  const report = await ensurePipelineSchedule(client(), 'group/app', defaultReconcileSchedule('main'));

  expect(report.line).toBe(
    `updated   pipeline schedule "${RECONCILE_SCHEDULE_DESCRIPTION}" (17 * * * * UTC on main): ` +
      'ref develop -> main, cron 0 3 * * * -> 17 * * * *, inactive -> active',
  );
  expect(schedules[0]).toMatchObject({ id: 7, ref: 'main', cron: '17 * * * *', active: true });
});

it('says clearly when GitLab answers with something that is not a schedule list', async () => {
  answerList = () => ({ message: 'not a list' });
  await expect(
    ensurePipelineSchedule(client(), 'group/app', defaultReconcileSchedule('main')),
  ).rejects.toThrow('GitLab answered the pipeline schedules request with an unexpected shape');
});
