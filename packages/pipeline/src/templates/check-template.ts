// The rules every Slipway CI template keeps, checked on the template file itself. GitLab's schema (and
// gitlab-ci-local) check that a template is valid; these check that it is a good template: safe to include twice,
// documented, pinned, and quiet about secrets.
import { withSampleInputs } from './sample-inputs';
import { checkInputSpecs, checkTemplateInputs } from './template-inputs';
import { isRecord, REFERENCE_KEY, type CiTemplate, type InputValue } from './template-file';

/** Top-level keywords that would change the including pipeline as a whole. */
const GLOBAL_KEYWORDS = [
  'stages',
  'variables',
  'default',
  'workflow',
  'include',
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
];
const SCRIPT_KEYS = new Set(['script', 'before_script', 'after_script']);
const INTERPOLATION = /\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*(?:\|[^\]]*)?\]\]/g;
const USES_INPUTS = /\$\[\[\s*inputs\./;
const WHOLE_INTERPOLATION = /^\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*(?:\|[^\]]*)?\]\]$/;
// A branch name as a value (`== "main"`, `/^main$/`, `origin main`), not a word inside a path such as dist/main.js.
const LITERAL_DEFAULT_BRANCH = /(^|[\s"'/^=:])(main|master)(["'$\s/]|$)/m;
const TRACING = /\bset\s+(-[a-wyz]*x|-o\s+xtrace)|\b(ba)?sh\s+-[a-wyz]*x\b/;
const LOGIN_COMMAND = /\b(docker|buildah|podman|skopeo|helm\s+registry|crane\s+auth|oras)\s+login\b/;
const PASSWORD_ARGUMENT = /(^|\s)(-p\s|-p=|--password(\s|=))/;

interface StringAt {
  path: string;
  value: string;
}

function collectStrings(value: unknown, path: string, out: StringAt[]): StringAt[] {
  if (typeof value === 'string') out.push({ path, value });
  else if (Array.isArray(value))
    value.forEach((item, index) => collectStrings(item, `${path}[${index}]`, out));
  else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) collectStrings(item, path ? `${path}.${key}` : key, out);
  }
  return out;
}

function collectKeys(value: unknown, path: string, out: string[]): string[] {
  if (Array.isArray(value)) value.forEach((item, index) => collectKeys(item, `${path}[${index}]`, out));
  else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      const here = path ? `${path}.${key}` : key;
      out.push(here);
      collectKeys(item, here, out);
    }
  }
  return out;
}

/** Replaces `$[[ inputs.x ]]` in keys and strings; a string that is only the interpolation takes the typed value. */
export function interpolateInputs(value: unknown, values: Record<string, InputValue>): unknown {
  const text = (name: string) => {
    const input = values[name];
    return Array.isArray(input) ? JSON.stringify(input) : String(input);
  };
  if (typeof value === 'string') {
    const whole = WHOLE_INTERPOLATION.exec(value);
    if (whole && whole[1] !== undefined && whole[1] in values) return values[whole[1]];
    return value.replace(INTERPOLATION, (match, name: string) => (name in values ? text(name) : match));
  }
  if (Array.isArray(value)) return value.map((item) => interpolateInputs(item, values));
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        interpolateInputs(key, values) as string,
        interpolateInputs(item, values),
      ]),
    );
  }
  return value;
}

function deepMerge(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const before = merged[key];
    merged[key] = isRecord(before) && isRecord(value) ? deepMerge(before, value) : value;
  }
  return merged;
}

/** A job with its `extends` chain merged in, the way GitLab merges it (hashes deep, everything else replaced). */
export function resolveExtends(
  jobs: Record<string, unknown>,
  name: string,
  depth = 0,
): Record<string, unknown> {
  const job = jobs[name];
  if (!isRecord(job)) throw new Error(`extends refers to "${name}", which this template does not define`);
  if (depth > 10) throw new Error(`extends of "${name}" nests more than 10 levels (a cycle?)`);
  const parents = job.extends === undefined ? [] : Array.isArray(job.extends) ? job.extends : [job.extends];
  let merged: Record<string, unknown> = {};
  for (const parent of parents) merged = deepMerge(merged, resolveExtends(jobs, String(parent), depth + 1));
  const { extends: _extends, ...own } = job;
  return deepMerge(merged, own);
}

/** An image reference that cannot drift: a digest, or a tag with at least major.minor (never `latest`). */
export function isPinnedImage(reference: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(reference)) return true;
  const lastSlash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon <= lastSlash) return false;
  const tag = reference.slice(colon + 1);
  return tag !== 'latest' && /\d+\.\d+/.test(tag);
}

function variableValue(variables: unknown, name: string): string | undefined {
  if (!isRecord(variables)) return undefined;
  const entry = variables[name];
  if (typeof entry === 'string') return entry;
  if (isRecord(entry) && typeof entry.value === 'string') return entry.value;
  return undefined;
}

/** The image names a job pulls (its image and its services), with the job's own variables substituted. */
function jobImages(job: Record<string, unknown>): string[] {
  const names: unknown[] = [];
  const image = job.image;
  names.push(isRecord(image) ? image.name : image);
  if (Array.isArray(job.services)) {
    for (const service of job.services) names.push(isRecord(service) ? service.name : service);
  }
  return names
    .filter((name): name is string => typeof name === 'string')
    .map((name) =>
      name.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (match, variable: string) => {
        return variableValue(job.variables, variable) ?? match;
      }),
    );
}

/** Every combination of the inputs that pick an `extends` target, so each variant of a job is checked. */
function extendsVariants(
  template: CiTemplate,
  values: Record<string, InputValue>,
): Array<Record<string, InputValue>> {
  const choosers = new Set<string>();
  for (const job of Object.values(template.body)) {
    if (!isRecord(job)) continue;
    for (const parent of [job.extends].flat()) {
      if (typeof parent === 'string')
        for (const match of parent.matchAll(INTERPOLATION)) choosers.add(match[1]!);
    }
  }
  let variants: Array<Record<string, InputValue>> = [values];
  for (const name of choosers) {
    const spec = template.inputs[name];
    if (!spec) continue;
    const choices: InputValue[] =
      spec.type === 'boolean'
        ? [true, false]
        : Array.isArray(spec.options)
          ? (spec.options as InputValue[])
          : [];
    if (choices.length === 0) continue;
    variants = variants.flatMap((variant) => choices.map((choice) => ({ ...variant, [name]: choice })));
  }
  return variants;
}

function checkStrings(template: CiTemplate): string[] {
  const problems: string[] = [];
  for (const { path, value } of collectStrings(template.body, '', [])) {
    const inScript = path.split('.').some((part) => SCRIPT_KEYS.has(part.replace(/\[\d+\]$/, '')));
    const lines = value.split('\n').filter((line) => !line.trimStart().startsWith('#'));
    if (LITERAL_DEFAULT_BRANCH.test(lines.join('\n'))) {
      problems.push(`${path}: names a branch literally (main/master); use $CI_DEFAULT_BRANCH`);
    }
    for (const line of lines) {
      if (inScript && TRACING.test(line)) {
        problems.push(`${path}: "${line.trim()}" traces commands, which can print secrets; remove set -x`);
      }
      if (/\blogin\b/.test(line) && PASSWORD_ARGUMENT.test(line)) {
        problems.push(
          `${path}: "${line.trim()}" passes a password as an argument; pipe it to --password-stdin`,
        );
      } else if (inScript && LOGIN_COMMAND.test(line) && !line.includes('--password-stdin')) {
        problems.push(`${path}: "${line.trim()}" logs in without --password-stdin`);
      }
    }
  }
  return problems;
}

function checkJobs(template: CiTemplate, values: Record<string, InputValue>): string[] {
  const problems: string[] = [];
  const jobs = interpolateInputs(template.body, values) as Record<string, unknown>;
  for (const name of Object.keys(jobs)) {
    if (name.startsWith('.')) continue;
    let job: Record<string, unknown>;
    try {
      job = resolveExtends(jobs, name);
    } catch (error) {
      problems.push(`job "${name}": ${(error as Error).message}`);
      continue;
    }
    const deploys = job.environment !== undefined;
    if (!Array.isArray(job.rules) || job.rules.length === 0) problems.push(`job "${name}" has no rules`);
    if (deploys && job.interruptible !== false) {
      problems.push(`job "${name}" deploys (it has an environment), so it must be interruptible: false`);
    }
    if (!deploys && job.interruptible !== true) problems.push(`job "${name}" must be interruptible: true`);
    for (const image of jobImages(job)) {
      if (!isPinnedImage(image)) {
        problems.push(
          `job "${name}": image "${image}" is not pinned (use a version tag such as 1.2.3, or a digest)`,
        );
      }
    }
  }
  return problems;
}

/** The `$[[ inputs.x ]]` names in a text. */
function inputNames(text: string): Set<string> {
  return new Set([...text.matchAll(INTERPOLATION)].map((match) => match[1]!));
}

/** The hidden jobs a job reaches by name: its `extends` and every `!reference [job, ...]` inside it. */
function hiddenJobsNamedBy(job: Record<string, unknown>): string[] {
  const names = [job.extends].flat().filter((name): name is string => typeof name === 'string');
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (isRecord(value)) {
      const reference = value[REFERENCE_KEY];
      if (Array.isArray(reference) && typeof reference[0] === 'string') names.push(reference[0]);
      else Object.values(value).forEach(visit);
    }
  };
  visit(job);
  return names;
}

/**
 * Two includes of a template (two apps, two environments, or two template versions pinned by two apps) merge
 * same-named hidden jobs, and the later include wins for every job that reaches one by name
 * (https://docs.gitlab.com/ci/yaml/includes/#merge-method-for-include). So a hidden job that a job extends or
 * references must be named from at least the inputs that name the job itself: then it belongs to one include, as the
 * job does. Shared blocks reach jobs through YAML anchors instead, resolved inside the file.
 */
function checkHiddenJobNames(template: CiTemplate): string[] {
  const problems: string[] = [];
  for (const [name, job] of Object.entries(template.body)) {
    if (name.startsWith('.') || !isRecord(job)) continue;
    const jobInputs = inputNames(name);
    const seen = new Set<string>();
    const queue = hiddenJobsNamedBy(job);
    while (queue.length > 0) {
      const hidden = queue.shift()!;
      if (seen.has(hidden)) continue;
      seen.add(hidden);
      const missing = [...jobInputs].filter((input) => !inputNames(hidden).has(input));
      if (missing.length > 0) {
        problems.push(
          `job "${name}" reaches hidden job "${hidden}" by name, which is not named from ${missing.map((input) => `$[[ inputs.${input} ]]`).join(' and ')}: another include (or template version) would replace it`,
        );
      }
      const target = template.body[hidden];
      if (isRecord(target)) queue.push(...hiddenJobsNamedBy(target));
    }
  }
  return problems;
}

/**
 * Every rule a template must keep. With `provided` inputs, the inputs are checked too and the jobs are resolved
 * with them; without, with the defaults (and sample values for required inputs, see sample-inputs.ts).
 */
export function checkTemplate(template: CiTemplate, provided?: Record<string, unknown>): string[] {
  const problems = checkInputSpecs(template);
  for (const common of ['stage', 'job-prefix']) {
    if (template.inputs[common]?.type !== 'string')
      problems.push(`the template needs a string input "${common}"`);
  }
  for (const keyword of GLOBAL_KEYWORDS) {
    if (keyword in template.body)
      problems.push(`global keyword "${keyword}": a template must not change the pipeline`);
  }
  // The hidden base is named after the template's first job (`.<job-prefix>-lint-base`,
  // `.<job-prefix>-deploy-<environment>-base`): per include, like the job.
  const firstJob = Object.keys(template.body).find((name) => !name.startsWith('.'));
  const base = `.${firstJob ?? `$[[ inputs.job-prefix ]]-${template.name}`}-base`;
  if (!isRecord(template.body[base])) problems.push(`hidden base job "${base}" is missing`);
  problems.push(...checkHiddenJobNames(template));

  const used = new Set<string>();
  for (const { value } of collectStrings(template.body, '', [])) {
    for (const match of value.matchAll(INTERPOLATION)) used.add(match[1]!);
  }
  for (const name of Object.keys(template.body))
    for (const match of name.matchAll(INTERPOLATION)) used.add(match[1]!);
  for (const name of used)
    if (!(name in template.inputs)) problems.push(`"$[[ inputs.${name} ]]" is not declared`);
  for (const name of Object.keys(template.inputs))
    if (!used.has(name)) problems.push(`input "${name}" is never used`);

  for (const [name, job] of Object.entries(template.body)) {
    if (!isRecord(job)) continue;
    if (name.startsWith('.')) {
      // Including a template twice (two apps, two environments) merges same-named hidden jobs: the last include
      // would win for every job extending it. Only names made from inputs are per include.
      if (
        !USES_INPUTS.test(name) &&
        collectStrings(job, '', []).some(({ value }) => USES_INPUTS.test(value))
      ) {
        problems.push(
          `hidden job "${name}" uses inputs; a second include would overwrite them for the first`,
        );
      }
      continue;
    }
    if (!name.startsWith('$[[ inputs.job-prefix ]]-')) {
      problems.push(`job "${name}" must be named "$[[ inputs.job-prefix ]]-<action>"`);
    }
    if (job.stage !== '$[[ inputs.stage ]]')
      problems.push(`job "${name}" must set stage: $[[ inputs.stage ]]`);
  }
  for (const key of collectKeys(template.body, '', [])) {
    const last = key.split('.').at(-1);
    if (last === 'only' || last === 'except') problems.push(`${key}: use rules, not only/except`);
  }
  problems.push(...checkStrings(template));

  let given: Record<string, InputValue> = {};
  if (provided) {
    const inputCheck = checkTemplateInputs(template, provided);
    problems.push(...inputCheck.problems);
    given = inputCheck.values;
  }
  const values = withSampleInputs(template.inputs, given);
  const variantProblems = extendsVariants(template, values).flatMap((variant) =>
    checkJobs(template, variant),
  );
  problems.push(...new Set(variantProblems));
  return problems;
}
