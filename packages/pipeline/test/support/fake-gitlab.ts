// A GitLab REST API stand-in on loopback, implementing only the endpoints slipway uses, with the response
// shapes and pagination headers of GitLab's API documentation. State is plain data the tests arrange and inspect.
// Where GitLab is strict, so is this fake; each rule names the docs page or the GitLab source it follows:
// - pipeline status is GitLab's composite of its jobs' statuses, and a trigger job's status follows its
//   trigger:strategy (depend: running until the child finishes; mirror: the child's status);
// - /pipelines/latest answers 403 when the ref's latest commit has no pipeline;
// - POST /pipeline answers 400 for a ref that workflow:rules filter out, or that does not exist;
// - play answers 403 for a job deploying to a protected environment the user may not deploy to, and an outdated
//   deployment fails with failure_reason forward_deployment_failure;
// - job logs carry runner timestamps; dotenv reports are never served as artifacts;
// - masked values follow GitLab's rule for raw and for expanded variables, on create and on update;
// - hidden variables answer their value as null;
// - pipeline schedules need the Developer role to create and answer 400 for a cron that is not five fields
//   (https://docs.gitlab.com/api/pipeline_schedules/), and list a branch as its full ref (refs/heads/main).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeVariable {
  key: string;
  value: string | null;
  variable_type: 'env_var' | 'file';
  protected: boolean;
  masked: boolean;
  hidden: boolean;
  raw: boolean;
  environment_scope: string;
  description: string | null;
}

export interface FakeProtectedEnvironment {
  name: string;
  deploy_access_levels: Array<{
    id: number;
    access_level: number;
    access_level_description: string;
    user_id: null;
    group_id: null;
  }>;
  required_approval_count: number;
}

/** A pipeline schedule as GET /projects/:id/pipeline_schedules answers it (https://docs.gitlab.com/api/pipeline_schedules/). */
export interface FakePipelineSchedule {
  id: number;
  description: string;
  ref: string;
  cron: string;
  cron_timezone: string;
  active: boolean;
}

export interface FakePipeline {
  id: number;
  iid: number;
  project_id: number;
  sha: string;
  ref: string;
  status: string;
  source: string;
  created_at: string;
  updated_at: string;
  web_url: string;
}

export interface FakeJob {
  id: number;
  name: string;
  stage: string;
  status: string;
  allow_failure: boolean;
  pipelineId: number;
  /** Files in the job's artifacts archive (artifacts:paths), by path. */
  artifacts?: Record<string, string>;
  /**
   * artifacts:reports:dotenv: GitLab passes it to later jobs only; the artifacts API never serves it
   * (https://docs.gitlab.com/ci/yaml/artifacts_reports/#artifactsreportsdotenv).
   */
  dotenvReport?: string;
  /** Plain log text; the trace endpoint adds the runner's timestamps when `timestampedLogs` is on. */
  log?: string;
  /** environment:name of a deployment job. */
  environment?: string;
  failure_reason?: string;
}

export interface FakeBridge {
  id: number;
  name: string;
  stage: string;
  /** The trigger job's own status while it has no child (created, manual, skipped, ...). */
  status: string;
  allow_failure: boolean;
  /** trigger:strategy; slipway's pipelines use depend. 'none' is a trigger without strategy. */
  strategy: 'depend' | 'mirror' | 'none';
  pipelineId: number;
  downstreamPipelineId: number | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown> | undefined;
}

export interface InjectedFault {
  method?: string;
  path: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** How many matching requests fail; then the real endpoint answers. */
  times: number;
  /** Sent as is instead of JSON, e.g. a proxy's HTML page. */
  rawBody?: string;
}

type LintResponder = (
  content: string,
  query: { ref?: unknown; dry_run?: unknown; include_jobs?: unknown },
) => unknown;

const PROJECT = { id: 4242, path_with_namespace: 'demo-group/slipway' };
export const DEFAULT_SHA = 'c0ffee'.padEnd(40, '0');
const FINISHED = new Set(['success', 'failed', 'canceled', 'skipped']);

/**
 * A pipeline's status from its jobs' statuses, as GitLab computes it (lib/gitlab/ci/status/composite.rb in
 * gitlab-org/gitlab): a failed job with allow_failure counts as success (with warnings), and a manual job with
 * allow_failure is ignored, so an optional manual job never holds a pipeline
 * (https://docs.gitlab.com/ci/jobs/job_control/#types-of-manual-jobs); a blocking one makes it `manual`.
 */
export function compositeStatus(items: Array<{ status: string; allowFailure: boolean }>): string {
  const statuses = new Set(
    items.map(({ status, allowFailure }) =>
      allowFailure && (status === 'failed' || status === 'canceled')
        ? 'success'
        : allowFailure && status === 'manual'
          ? 'ignored'
          : status,
    ),
  );
  const only = (...allowed: string[]) => [...statuses].every((status) => allowed.includes(status));
  const any = (...wanted: string[]) => wanted.some((status) => statuses.has(status));
  if (only('skipped', 'ignored')) return 'skipped';
  if (only('success', 'skipped', 'ignored')) return 'success';
  if (only('created', 'ignored')) return 'created';
  if (only('canceled', 'success', 'skipped', 'ignored')) return 'canceled';
  if (only('pending', 'created', 'skipped', 'ignored')) return 'pending';
  if (any('running', 'pending', 'preparing', 'waiting_for_resource')) return 'running';
  if (any('manual')) return 'manual';
  if (any('scheduled')) return 'scheduled';
  if (any('created')) return 'running';
  return 'failed';
}

export class FakeGitlab {
  readonly token = 'glpat-fake-0123456789abcdef';
  readonly project = PROJECT;
  variables: FakeVariable[] = [];
  protectedEnvironments: FakeProtectedEnvironment[] = [];
  protectedTags: Array<{ name: string; create_access_levels: Array<{ access_level: number }> }> = [];
  pipelineSchedules: FakePipelineSchedule[] = [];
  /** When false, the protected environments API answers 403 like a Free-tier project. */
  protectedEnvironmentsAvailable = true;
  pipelines: FakePipeline[] = [];
  jobs: FakeJob[] = [];
  bridges: FakeBridge[] = [];
  faults: InjectedFault[] = [];
  /** The head commit of each branch or tag; POST /pipeline answers 400 for any other ref. */
  refHeads: Record<string, string> = { main: DEFAULT_SHA };
  /** Refs for which the project's workflow:rules create no pipeline. */
  workflowRejects: (ref: string) => boolean = () => false;
  /** The token user's role: 40 Maintainer, 30 Developer. */
  userAccessLevel = 40;
  /** Settings > CI/CD > "Prevent outdated deployment jobs", on by default for new projects. */
  preventOutdatedDeployments = true;
  /** GitLab.com's hosted runners prefix every log line with a timestamp and a stream marker. */
  timestampedLogs = true;
  requests: RecordedRequest[] = [];
  lint: LintResponder = () => ({
    valid: true,
    errors: [],
    warnings: [],
    merged_yaml: '',
    includes: [],
    jobs: [],
  });
  /** Called on each GET of a pipeline, so a test can move the world forward as the client polls. */
  onPipelinePoll: (pipeline: FakePipeline) => void = () => undefined;
  /** Called when a job is played. */
  onPlay: (job: FakeJob) => void = () => undefined;
  /** Called on each GET of a single job, before it is answered. */
  onJobPoll: (job: FakeJob) => void = () => undefined;
  private nextId = 1000;
  private server = http.createServer((request, response) => void this.handle(request, response));
  url = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  id(): number {
    this.nextId += 1;
    return this.nextId;
  }

  addPipeline(fields: Partial<FakePipeline> = {}): FakePipeline {
    const id = fields.id ?? this.id();
    const now = new Date().toISOString();
    const pipeline: FakePipeline = {
      id,
      iid: id,
      project_id: PROJECT.id,
      sha: DEFAULT_SHA,
      ref: 'main',
      status: 'created',
      source: 'api',
      created_at: now,
      updated_at: now,
      web_url: `https://gitlab.example.com/${PROJECT.path_with_namespace}/-/pipelines/${id}`,
      ...fields,
    };
    this.pipelines.push(pipeline);
    return pipeline;
  }

  addJob(pipelineId: number, fields: Partial<FakeJob> & Pick<FakeJob, 'name' | 'stage'>): FakeJob {
    const job: FakeJob = { id: this.id(), status: 'created', allow_failure: false, pipelineId, ...fields };
    this.jobs.push(job);
    return job;
  }

  addBridge(
    pipelineId: number,
    fields: Partial<FakeBridge> & Pick<FakeBridge, 'name' | 'stage'>,
  ): FakeBridge {
    const bridge: FakeBridge = {
      id: this.id(),
      status: 'created',
      allow_failure: false,
      strategy: 'depend',
      downstreamPipelineId: null,
      pipelineId,
      ...fields,
    };
    this.bridges.push(bridge);
    return bridge;
  }

  /**
   * A trigger job's status (https://docs.gitlab.com/ci/yaml/#triggerstrategy): without strategy it succeeds once
   * its child exists; with depend it stays running until the child finishes, then takes its status (so a child
   * stopped at a blocking manual job keeps it running); with mirror (GitLab 18.2+) it shows the child's status.
   */
  bridgeStatus(bridge: FakeBridge): string {
    const downstream = this.pipelines.find((p) => p.id === bridge.downstreamPipelineId);
    if (!downstream) return bridge.status;
    const childStatus = this.pipelineStatus(downstream);
    if (bridge.strategy === 'none') return 'success';
    if (bridge.strategy === 'mirror') return childStatus;
    return FINISHED.has(childStatus) ? childStatus : 'running';
  }

  /** The composite of its jobs and trigger jobs; a pipeline with none keeps the status a test gave it. */
  pipelineStatus(pipeline: FakePipeline): string {
    const items = [
      ...this.jobs
        .filter((job) => job.pipelineId === pipeline.id)
        .map((job) => ({ status: job.status, allowFailure: job.allow_failure })),
      ...this.bridges
        .filter((bridge) => bridge.pipelineId === pipeline.id)
        .map((bridge) => ({ status: this.bridgeStatus(bridge), allowFailure: bridge.allow_failure })),
    ];
    return items.length === 0 ? pipeline.status : compositeStatus(items);
  }

  private pipelineJson(pipeline: FakePipeline) {
    return {
      ...pipeline,
      status: this.pipelineStatus(pipeline),
      before_sha: '0'.repeat(40),
      tag: false,
      user: { id: 1, username: 'demo' },
      duration: null,
    };
  }

  /** The short pipeline object GitLab embeds in jobs and bridges. */
  private pipelineSummary(pipeline: FakePipeline) {
    return {
      id: pipeline.id,
      project_id: PROJECT.id,
      ref: pipeline.ref,
      sha: pipeline.sha,
      status: this.pipelineStatus(pipeline),
    };
  }

  private jobJson(job: FakeJob) {
    const pipeline = this.pipelines.find((p) => p.id === job.pipelineId)!;
    return {
      id: job.id,
      name: job.name,
      stage: job.stage,
      status: job.status,
      ref: pipeline.ref,
      tag: false,
      allow_failure: job.allow_failure,
      failure_reason: job.status === 'failed' ? (job.failure_reason ?? 'script_failure') : undefined,
      environment: job.environment ? { name: job.environment } : null,
      created_at: pipeline.created_at,
      started_at: null,
      finished_at: null,
      duration: null,
      web_url: `https://gitlab.example.com/${PROJECT.path_with_namespace}/-/jobs/${job.id}`,
      pipeline: this.pipelineSummary(pipeline),
      commit: { id: pipeline.sha, short_id: pipeline.sha.slice(0, 8), title: 'demo commit' },
      artifacts: Object.keys(job.artifacts ?? {}).length
        ? [{ file_type: 'archive', size: 1000, filename: 'artifacts.zip', file_format: 'zip' }]
        : [],
      user: { id: 1, username: 'demo' },
    };
  }

  private bridgeJson(bridge: FakeBridge) {
    const pipeline = this.pipelines.find((p) => p.id === bridge.pipelineId)!;
    const downstream = this.pipelines.find((p) => p.id === bridge.downstreamPipelineId);
    return {
      id: bridge.id,
      name: bridge.name,
      stage: bridge.stage,
      status: this.bridgeStatus(bridge),
      ref: pipeline.ref,
      allow_failure: bridge.allow_failure,
      pipeline: this.pipelineSummary(pipeline),
      downstream_pipeline: downstream
        ? {
            id: downstream.id,
            sha: downstream.sha,
            ref: downstream.ref,
            status: this.pipelineStatus(downstream),
            web_url: downstream.web_url,
            project_id: PROJECT.id,
          }
        : null,
    };
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString();
    const body = rawBody ? (JSON.parse(rawBody) as Record<string, unknown>) : undefined;
    const method = request.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, query: url.searchParams, body });

    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(payload));
    };
    const fault = this.faults.find(
      (f) => f.times > 0 && f.path.test(url.pathname) && (!f.method || f.method === method),
    );
    if (fault) {
      fault.times -= 1;
      if (fault.rawBody !== undefined) {
        response.writeHead(fault.status, { 'content-type': 'text/html; charset=utf-8', ...fault.headers });
        response.end(fault.rawBody);
        return;
      }
      send(fault.status, fault.body ?? { message: `${fault.status} Injected` }, fault.headers);
      return;
    }
    if (request.headers['private-token'] !== this.token) {
      send(401, { message: '401 Unauthorized' });
      return;
    }
    const match = /^\/api\/v4\/projects\/([^/]+)(\/.*)?$/.exec(url.pathname);
    const projectRef = match ? decodeURIComponent(match[1]!) : undefined;
    if (!match || (projectRef !== String(PROJECT.id) && projectRef !== PROJECT.path_with_namespace)) {
      send(404, { message: '404 Project Not Found' });
      return;
    }
    const route = `${method} ${match[2] ?? ''}`;
    const paginate = (items: unknown[]) => this.sendPage(url, items, send);
    let m: RegExpExecArray | null;

    if (route === 'GET ') {
      return send(200, {
        ...PROJECT,
        name: 'slipway',
        default_branch: 'main',
        web_url: `https://gitlab.example.com/${PROJECT.path_with_namespace}`,
      });
    }
    if (route === 'GET /variables') return paginate(this.variables.map((v) => this.variableJson(v)));
    if (route === 'POST /variables') return this.createVariable(body!, send);
    if ((m = /^PUT \/variables\/([^/]+)$/.exec(route)))
      return this.updateVariable(decodeURIComponent(m[1]!), url, body!, send);

    if (route.includes('/protected_environments') && !this.protectedEnvironmentsAvailable) {
      return send(403, { message: '403 Forbidden' });
    }
    if (route === 'GET /protected_environments') return paginate(this.protectedEnvironments);
    if (route === 'POST /protected_environments') return this.protectEnvironment(body!, send);

    if (route === 'POST /ci/lint') {
      const { content, ...query } = body as { content: string };
      return send(200, this.lint(content, query));
    }

    if (route === 'GET /protected_tags') return paginate(this.protectedTags);
    // Grape reads parameters from the query string as from the body; gitbeaker sends these in the query.
    if (route === 'POST /protected_tags')
      return this.protectTag({ ...Object.fromEntries(url.searchParams), ...body }, send);

    if (route === 'GET /pipeline_schedules') return paginate(this.pipelineSchedules);
    if (route === 'POST /pipeline_schedules') return this.saveSchedule(undefined, body!, send);
    if ((m = /^PUT \/pipeline_schedules\/(\d+)$/.exec(route)))
      return this.saveSchedule(Number(m[1]), body!, send);

    if (route === 'POST /pipeline') {
      // https://docs.gitlab.com/api/pipelines/#create-a-new-pipeline: 400 with the reason under message.base.
      const ref = String(body!.ref);
      if (this.refHeads[ref] === undefined) return send(400, { message: { base: ['Reference not found'] } });
      if (this.workflowRejects(ref)) {
        return send(400, { message: { base: ['Pipeline filtered out by workflow rules.'] } });
      }
      const pipeline = this.addPipeline({ ref, sha: this.refHeads[ref], status: 'created' });
      return send(201, this.pipelineJson(pipeline));
    }
    if (route === 'GET /pipelines/latest') {
      // https://docs.gitlab.com/api/pipelines/#get-the-latest-pipeline: the latest pipeline for the most recent
      // commit on ref; 403 when that commit has no pipeline. Child pipelines are not counted (Ci::Pipeline.ci_sources).
      const ref = url.searchParams.get('ref') ?? 'main';
      const head = this.refHeads[ref];
      const latest = this.pipelines
        .filter((p) => p.ref === ref && p.sha === head && p.source !== 'parent_pipeline')
        .at(-1);
      return latest ? send(200, this.pipelineJson(latest)) : send(403, { message: '403 Forbidden' });
    }
    if ((m = /^GET \/pipelines\/(\d+)(\/jobs|\/bridges)?$/.exec(route))) {
      const pipeline = this.pipelines.find((p) => p.id === Number(m![1]));
      if (!pipeline) return send(404, { message: '404 Not found' });
      if (m[2] === '/jobs')
        return paginate(this.jobs.filter((j) => j.pipelineId === pipeline.id).map((j) => this.jobJson(j)));
      if (m[2] === '/bridges') {
        return paginate(
          this.bridges.filter((b) => b.pipelineId === pipeline.id).map((b) => this.bridgeJson(b)),
        );
      }
      this.onPipelinePoll(pipeline);
      return send(200, this.pipelineJson(pipeline));
    }
    if ((m = /^(GET|POST) \/jobs\/(\d+)(\/play|\/trace|\/artifacts\/(.+))?$/.exec(route))) {
      const job = this.jobs.find((j) => j.id === Number(m![2]));
      if (!job) return send(404, { message: '404 Not found' });
      if (m[1] === 'POST' && m[3] === '/play') return this.playJob(job, send);
      if (m[1] === 'GET' && m[3] === '/trace') {
        response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(this.timestampedLogs ? withRunnerTimestamps(job.log ?? '') : (job.log ?? ''));
        return;
      }
      if (m[1] === 'GET' && m[4] !== undefined) {
        const file = job.artifacts?.[decodeURIComponent(m[4])];
        if (file === undefined) return send(404, { message: '404 Not Found' });
        response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(file);
        return;
      }
      if (m[1] === 'GET' && m[3] === undefined) {
        this.onJobPoll(job);
        return send(200, this.jobJson(job));
      }
    }
    send(404, { error: '404 Not Found' });
  }

  private sendPage(
    url: URL,
    items: unknown[],
    send: (status: number, payload: unknown, headers?: Record<string, string>) => void,
  ) {
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 20), 100);
    const page = Math.max(Number(url.searchParams.get('page') ?? 1), 1);
    const totalPages = Math.max(Math.ceil(items.length / perPage), 1);
    const pageUrl = (n: number) => {
      const link = new URL(`${this.url}${url.pathname}`);
      url.searchParams.forEach((value, key) => link.searchParams.set(key, value));
      link.searchParams.set('page', String(n));
      link.searchParams.set('per_page', String(perPage));
      return link.href;
    };
    const links = [
      page < totalPages ? `<${pageUrl(page + 1)}>; rel="next"` : '',
      page > 1 ? `<${pageUrl(page - 1)}>; rel="prev"` : '',
      `<${pageUrl(1)}>; rel="first"`,
      `<${pageUrl(totalPages)}>; rel="last"`,
    ].filter(Boolean);
    send(200, items.slice((page - 1) * perPage, page * perPage), {
      link: links.join(', '),
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-total': String(items.length),
      'x-total-pages': String(totalPages),
      'x-next-page': page < totalPages ? String(page + 1) : '',
      'x-prev-page': page > 1 ? String(page - 1) : '',
    });
  }

  /** Hidden values never leave GitLab: the API answers null (GitLab 17.4+). */
  private variableJson(variable: FakeVariable) {
    return { ...variable, value: variable.hidden ? null : variable.value };
  }

  private createVariable(body: Record<string, unknown>, send: (status: number, payload: unknown) => void) {
    const scope = String(body.environment_scope ?? '*');
    if (this.variables.some((v) => v.key === body.key && v.environment_scope === scope)) {
      return send(400, { message: { key: [`(${String(body.key)}) has already been taken`] } });
    }
    // masked_and_hidden (17.4+) makes a variable masked and hidden for good.
    const hidden = body.masked_and_hidden === true;
    const masked = hidden || body.masked === true;
    if (masked && !isMaskable(String(body.value), body.raw === true)) {
      return send(400, { message: { value: ['is invalid'] } });
    }
    const variable: FakeVariable = {
      key: String(body.key),
      value: String(body.value),
      variable_type: (body.variable_type as FakeVariable['variable_type']) ?? 'env_var',
      protected: body.protected === true,
      masked,
      hidden,
      raw: body.raw === true,
      environment_scope: scope,
      description: (body.description as string) ?? null,
    };
    this.variables.push(variable);
    send(201, this.variableJson(variable));
  }

  private updateVariable(
    key: string,
    url: URL,
    body: Record<string, unknown>,
    send: (status: number, payload: unknown) => void,
  ) {
    const filter = body.filter as { environment_scope?: string } | undefined;
    const scope = filter?.environment_scope ?? url.searchParams.get('filter[environment_scope]');
    const candidates = this.variables.filter(
      (v) => v.key === key && (scope === null || scope === undefined || v.environment_scope === scope),
    );
    if (candidates.length === 0) return send(404, { message: '404 Variable Not Found' });
    if (candidates.length > 1) {
      return send(409, {
        message:
          "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'",
      });
    }
    const variable = candidates[0]!;
    // The masked-value rule holds on update as on create (Ci::Maskable validates the record on every save).
    const masked = body.masked !== undefined ? body.masked === true : variable.masked;
    const raw = body.raw !== undefined ? body.raw === true : variable.raw;
    const value = body.value !== undefined ? String(body.value) : variable.value;
    if ((masked || variable.hidden) && !isMaskable(value ?? '', raw)) {
      return send(400, { message: { value: ['is invalid'] } });
    }
    if (variable.hidden && body.masked === false) {
      return send(400, { message: { masked: ['cannot be unset for a hidden variable'] } });
    }
    Object.assign(variable, {
      value: String(body.value),
      ...(body.variable_type !== undefined && { variable_type: body.variable_type }),
      ...(body.protected !== undefined && { protected: body.protected }),
      ...(body.masked !== undefined && { masked: body.masked }),
      ...(body.raw !== undefined && { raw: body.raw }),
      ...(body.environment_scope !== undefined && { environment_scope: body.environment_scope }),
      ...(body.description !== undefined && { description: body.description }),
    });
    send(200, this.variableJson(variable));
  }

  /**
   * POST /jobs/:id/play (https://docs.gitlab.com/api/jobs/#run-a-job): 400 "Unplayable Job" unless manual; 403
   * when the job deploys to a protected environment the user may not deploy to
   * (https://docs.gitlab.com/ci/environments/protected_environments/). With "Prevent outdated deployment jobs",
   * a deployment older than the environment's latest one fails with forward_deployment_failure
   * (https://docs.gitlab.com/ci/environments/deployment_safety/#prevent-outdated-deployment-jobs).
   */
  private playJob(job: FakeJob, send: (status: number, payload: unknown) => void) {
    if (job.status !== 'manual') return send(400, { message: 'Unplayable Job' });
    const protection = this.protectedEnvironments.find((e) => e.name === job.environment);
    if (protection && !protection.deploy_access_levels.some((l) => this.userAccessLevel >= l.access_level)) {
      return send(403, { message: '403 Forbidden' });
    }
    const newerDeployment = this.jobs.some(
      (other) =>
        other.environment === job.environment &&
        other.pipelineId > job.pipelineId &&
        other.status === 'success',
    );
    if (job.environment && this.preventOutdatedDeployments && newerDeployment) {
      job.status = 'failed';
      job.failure_reason = 'forward_deployment_failure';
      return send(200, this.jobJson(job));
    }
    job.status = 'pending';
    this.onPlay(job);
    return send(200, this.jobJson(job));
  }

  /**
   * POST /pipeline_schedules and PUT /pipeline_schedules/:id (https://docs.gitlab.com/api/pipeline_schedules/):
   * creating needs at least the Developer role; description, ref and cron are required on create; a cron that
   * is not five fields is refused with 400 as GitLab's cron validation does.
   */
  private saveSchedule(
    id: number | undefined,
    body: Record<string, unknown>,
    send: (status: number, payload: unknown) => void,
  ) {
    if (this.userAccessLevel < 30) return send(403, { message: '403 Forbidden' });
    const existing = id === undefined ? undefined : this.pipelineSchedules.find((s) => s.id === id);
    if (id !== undefined && !existing) return send(404, { message: '404 Not found' });
    if (id === undefined && (!body.description || !body.ref || !body.cron)) {
      return send(400, { error: 'description, ref, cron are missing' });
    }
    if (body.cron !== undefined && String(body.cron).trim().split(/\s+/).length !== 5) {
      return send(400, { message: { cron: ['is invalid syntax'] } });
    }
    const schedule: FakePipelineSchedule = existing ?? {
      id: this.id(),
      description: '',
      ref: '',
      cron: '',
      cron_timezone: 'UTC',
      active: true,
    };
    for (const field of ['description', 'ref', 'cron', 'cron_timezone'] as const) {
      if (body[field] !== undefined) schedule[field] = String(body[field]);
    }
    // GitLab 16.9+ stores a branch given by its short name as its full ref
    // (https://gitlab.com/gitlab-org/gitlab/-/merge_requests/142037).
    if (this.refHeads[schedule.ref] !== undefined) schedule.ref = `refs/heads/${schedule.ref}`;
    if (body.active !== undefined) schedule.active = body.active === true || body.active === 'true';
    if (!existing) this.pipelineSchedules.push(schedule);
    send(existing ? 200 : 201, schedule);
  }

  /** POST /protected_tags (https://docs.gitlab.com/api/protected_tags/#protect-repository-tags). */
  private protectTag(body: Record<string, unknown>, send: (status: number, payload: unknown) => void) {
    if (this.userAccessLevel < 40) return send(403, { message: '403 Forbidden' });
    if (this.protectedTags.some((t) => t.name === body.name)) {
      return send(409, { message: 'Protected tag has already been taken' });
    }
    const tag = {
      name: String(body.name),
      create_access_levels: [{ access_level: Number(body.create_access_level ?? 40) }],
    };
    this.protectedTags.push(tag);
    send(201, tag);
  }

  private protectEnvironment(
    body: Record<string, unknown>,
    send: (status: number, payload: unknown) => void,
  ) {
    if (this.protectedEnvironments.some((e) => e.name === body.name)) {
      return send(409, { message: 'Protected environment already exists' });
    }
    const levels = (body.deploy_access_levels as Array<{ access_level: number }>) ?? [];
    const environment: FakeProtectedEnvironment = {
      name: String(body.name),
      deploy_access_levels: levels.map((level) => ({
        id: this.id(),
        access_level: level.access_level,
        access_level_description: level.access_level === 40 ? 'Maintainers' : 'Developers + Maintainers',
        user_id: null,
        group_id: null,
      })),
      required_approval_count: Number(body.required_approval_count ?? 0),
    };
    this.protectedEnvironments.push(environment);
    send(201, environment);
  }
}

/**
 * GitLab's masked-value rule (https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable; app/models/concerns/
 * ci/maskable.rb): a raw variable needs 8+ characters and no whitespace; an expanded one also only the Base64
 * alphabet and @ : . ~.
 */
export function isMaskable(value: string, raw: boolean): boolean {
  return raw ? /^\S{8,}$/.test(value) : /^[A-Za-z0-9_+=/@:.~-]{8,}$/.test(value);
}

/**
 * A log as GitLab Runner 17+ writes it with FF_TIMESTAMPS, as GitLab.com's hosted runners do: each line starts
 * with an RFC 3339 timestamp with microseconds, the stream number and type (00O: stream 0, stdout), then a space.
 * https://docs.gitlab.com/ci/jobs/job_logs/#job-log-timestamps
 */
export function withRunnerTimestamps(log: string): string {
  const start = Date.parse('2024-01-01T00:00:00Z');
  return log
    .split('\n')
    .map((line, index) =>
      index === log.split('\n').length - 1 && line === ''
        ? ''
        : `${new Date(start + index * 1000).toISOString().replace('Z', '000Z')} 00O ${line}`,
    )
    .join('\n');
}

export async function startFakeGitlab(): Promise<FakeGitlab> {
  return new FakeGitlab().start();
}
