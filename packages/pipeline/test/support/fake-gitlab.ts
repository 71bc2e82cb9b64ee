// A GitLab REST API stand-in on loopback, implementing only the endpoints slipway uses, with the response
// shapes and pagination headers of GitLab's API documentation. State is plain data the tests arrange and inspect.
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
  /** Files in the job's artifacts archive, by path. */
  artifacts?: Record<string, string>;
  log?: string;
}

export interface FakeBridge {
  id: number;
  name: string;
  stage: string;
  status: string;
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
}

type LintResponder = (
  content: string,
  query: { ref?: unknown; dry_run?: unknown; include_jobs?: unknown },
) => unknown;

const PROJECT = { id: 4242, path_with_namespace: 'demo-group/slipway' };

export class FakeGitlab {
  readonly token = 'glpat-fake-0123456789abcdef';
  readonly project = PROJECT;
  variables: FakeVariable[] = [];
  protectedEnvironments: FakeProtectedEnvironment[] = [];
  /** When false, the protected environments API answers 403 like a Free-tier project. */
  protectedEnvironmentsAvailable = true;
  pipelines: FakePipeline[] = [];
  jobs: FakeJob[] = [];
  bridges: FakeBridge[] = [];
  faults: InjectedFault[] = [];
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
      sha: 'c0ffee'.padEnd(40, '0'),
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
      downstreamPipelineId: null,
      pipelineId,
      ...fields,
    };
    this.bridges.push(bridge);
    return bridge;
  }

  private pipelineJson(pipeline: FakePipeline) {
    return {
      ...pipeline,
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
      status: pipeline.status,
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
      status: bridge.status,
      ref: pipeline.ref,
      allow_failure: false,
      pipeline: this.pipelineSummary(pipeline),
      downstream_pipeline: downstream
        ? {
            id: downstream.id,
            sha: downstream.sha,
            ref: downstream.ref,
            status: downstream.status,
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
    if (route === 'GET /variables') return paginate(this.variables);
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

    if (route === 'POST /pipeline') {
      const pipeline = this.addPipeline({ ref: String(body!.ref), status: 'created' });
      return send(201, this.pipelineJson(pipeline));
    }
    if (route === 'GET /pipelines/latest') {
      const ref = url.searchParams.get('ref');
      const latest = this.pipelines
        .filter((p) => p.ref === ref && !this.bridges.some((b) => b.downstreamPipelineId === p.id))
        .at(-1);
      return latest ? send(200, this.pipelineJson(latest)) : send(404, { message: '404 Not found' });
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
      if (m[1] === 'POST' && m[3] === '/play') {
        if (job.status !== 'manual') return send(400, { message: 'Unplayable Job' });
        job.status = 'pending';
        this.onPlay(job);
        return send(200, this.jobJson(job));
      }
      if (m[1] === 'GET' && m[3] === '/trace') {
        response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(job.log ?? '');
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

  private createVariable(body: Record<string, unknown>, send: (status: number, payload: unknown) => void) {
    const scope = String(body.environment_scope ?? '*');
    if (this.variables.some((v) => v.key === body.key && v.environment_scope === scope)) {
      return send(400, { message: { key: [`(${String(body.key)}) has already been taken`] } });
    }
    if (body.masked === true && !/^[A-Za-z0-9+/=@:.~_-]{8,}$/.test(String(body.value))) {
      return send(400, { message: { value: ['is invalid'] } });
    }
    const variable: FakeVariable = {
      key: String(body.key),
      value: String(body.value),
      variable_type: (body.variable_type as FakeVariable['variable_type']) ?? 'env_var',
      protected: body.protected === true,
      masked: body.masked === true,
      hidden: false,
      raw: body.raw === true,
      environment_scope: scope,
      description: (body.description as string) ?? null,
    };
    this.variables.push(variable);
    send(201, variable);
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
    Object.assign(variable, {
      value: String(body.value),
      ...(body.variable_type !== undefined && { variable_type: body.variable_type }),
      ...(body.protected !== undefined && { protected: body.protected }),
      ...(body.masked !== undefined && { masked: body.masked }),
      ...(body.raw !== undefined && { raw: body.raw }),
      ...(body.environment_scope !== undefined && { environment_scope: body.environment_scope }),
      ...(body.description !== undefined && { description: body.description }),
    });
    send(200, variable);
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

export async function startFakeGitlab(): Promise<FakeGitlab> {
  return new FakeGitlab().start();
}
