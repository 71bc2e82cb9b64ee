// Which jobs a pipeline gets for a given ref: `workflow:rules` and each job's `rules`, evaluated the way GitLab
// documents them. gitlab-ci-local ignores workflow:rules when it lists jobs, so the tests of the documented ref ->
// environment mappings evaluate them here, on the configuration gitlab-ci-local expanded (--preview).
//
// Sources:
// - expressions: https://docs.gitlab.com/ci/jobs/job_rules/#cicd-variable-expressions (`$VAR`, `==`, `!=`, `=~`,
//   `!~`, `null`, `&&` before `||`, parentheses, a regex stored in a variable on the right of `=~`);
// - rules: https://docs.gitlab.com/ci/yaml/#rules (the first matching rule decides; no match leaves the job out;
//   `when` defaults to on_success; `rules:when: manual` defaults to `allow_failure: false`);
// - workflow: https://docs.gitlab.com/ci/yaml/workflow/ (no match, or `when: never`, creates no pipeline).
import { isRecord } from './template-file';

/** Variable values as GitLab sees them: a missing name is undefined (`null` in an expression). */
export type Variables = Record<string, string | undefined>;

type Token =
  | { kind: 'variable'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'regex'; source: string; flags: string }
  | { kind: 'null' }
  | { kind: 'operator'; value: '==' | '!=' | '=~' | '!~' | '&&' | '||' | '(' | ')' };

type Value = { kind: 'string'; value: string } | { kind: 'null' } | { kind: 'regex'; regex: RegExp };

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`rules:if "${expression}": ${why} at character ${at + 1}`);
  };
  while (at < expression.length) {
    const rest = expression.slice(at);
    const space = /^\s+/.exec(rest);
    if (space) {
      at += space[0].length;
      continue;
    }
    const operator = /^(==|!=|=~|!~|&&|\|\||\(|\))/.exec(rest);
    if (operator) {
      tokens.push({ kind: 'operator', value: operator[1] as never });
      at += operator[0].length;
      continue;
    }
    const variable = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    if (variable) {
      tokens.push({ kind: 'variable', name: variable[1]! });
      at += variable[0].length;
      continue;
    }
    const string = /^"([^"]*)"|^'([^']*)'/.exec(rest);
    if (string) {
      tokens.push({ kind: 'string', value: string[1] ?? string[2] ?? '' });
      at += string[0].length;
      continue;
    }
    const previous = tokens.at(-1);
    if (previous?.kind === 'operator' && (previous.value === '=~' || previous.value === '!~')) {
      const regex = /^\/((?:\\.|[^/\\])*)\/([a-z]*)/.exec(rest);
      if (regex) {
        tokens.push({ kind: 'regex', source: regex[1]!, flags: regex[2]! });
        at += regex[0].length;
        continue;
      }
    }
    if (/^null\b/.test(rest)) {
      tokens.push({ kind: 'null' });
      at += 4;
      continue;
    }
    fail('unexpected text');
  }
  return tokens;
}

/** A `/pattern/flags` text (a regex stored in a variable) as a RegExp; RE2's syntax is close to JavaScript's here. */
function regexFromText(text: string): RegExp | undefined {
  const match = /^\/(.*)\/([a-z]*)$/s.exec(text);
  return match ? new RegExp(match[1]!, match[2]!.replace(/[^ims]/g, '')) : undefined;
}

/** Evaluates a `rules:if` / `workflow:rules:if` expression against the variables. */
export function evaluateIf(expression: string, variables: Variables): boolean {
  const tokens = tokenize(expression);
  let at = 0;
  const peek = () => tokens[at];
  const isOperator = (value: string) => {
    const token = peek();
    return token?.kind === 'operator' && token.value === value;
  };

  const value = (): Value => {
    const token = tokens[at++];
    if (!token) throw new Error(`rules:if "${expression}": ends early`);
    switch (token.kind) {
      case 'variable': {
        const found = variables[token.name];
        return found === undefined ? { kind: 'null' } : { kind: 'string', value: found };
      }
      case 'string':
        return { kind: 'string', value: token.value };
      case 'null':
        return { kind: 'null' };
      case 'regex':
        return { kind: 'regex', regex: new RegExp(token.source, token.flags.replace(/[^ims]/g, '')) };
      default:
        throw new Error(`rules:if "${expression}": unexpected "${token.value}"`);
    }
  };
  const truthy = (item: Value) => item.kind === 'regex' || (item.kind === 'string' && item.value !== '');
  const equal = (left: Value, right: Value) =>
    left.kind === 'null' || right.kind === 'null'
      ? left.kind === right.kind
      : left.kind === 'string' && right.kind === 'string' && left.value === right.value;
  const matches = (left: Value, right: Value) => {
    const regex =
      right.kind === 'regex' ? right.regex : right.kind === 'string' ? regexFromText(right.value) : undefined;
    return left.kind === 'string' && regex !== undefined && regex.test(left.value);
  };

  const comparison = (): boolean => {
    if (isOperator('(')) {
      at++;
      const inner = or();
      if (!isOperator(')')) throw new Error(`rules:if "${expression}": missing ")"`);
      at++;
      return inner;
    }
    const left = value();
    const token = peek();
    if (token?.kind === 'operator' && ['==', '!=', '=~', '!~'].includes(token.value)) {
      at++;
      const right = value();
      switch (token.value) {
        case '==':
          return equal(left, right);
        case '!=':
          return !equal(left, right);
        case '=~':
          return matches(left, right);
        default:
          return !matches(left, right);
      }
    }
    return truthy(left);
  };
  const and = (): boolean => {
    let result = comparison();
    while (isOperator('&&')) {
      at++;
      const right = comparison();
      result = result && right;
    }
    return result;
  };
  const or = (): boolean => {
    let result = and();
    while (isOperator('||')) {
      at++;
      const right = and();
      result = result || right;
    }
    return result;
  };
  const result = or();
  if (at !== tokens.length) throw new Error(`rules:if "${expression}": unexpected text after the expression`);
  return result;
}

export interface RuleOutcome {
  when: string;
  allowFailure: boolean;
}

/**
 * The outcome of a `rules:` list: the first rule whose `if` holds (or that has no `if`) decides; none means the job
 * is not in the pipeline (undefined). A job without rules keeps its own `when`.
 */
export function evaluateRules(job: Record<string, unknown>, variables: Variables): RuleOutcome | undefined {
  const jobWhen = typeof job.when === 'string' ? job.when : 'on_success';
  const jobAllowFailure = job.allow_failure === true;
  if (!Array.isArray(job.rules)) {
    return jobWhen === 'never'
      ? undefined
      : {
          when: jobWhen,
          allowFailure: job.allow_failure === undefined ? jobWhen === 'manual' : jobAllowFailure,
        };
  }
  for (const rule of job.rules) {
    if (!isRecord(rule)) continue;
    if (typeof rule.if === 'string' && !evaluateIf(rule.if, variables)) continue;
    const when = typeof rule.when === 'string' ? rule.when : jobWhen;
    if (when === 'never') return undefined;
    const allowFailure =
      typeof rule.allow_failure === 'boolean'
        ? rule.allow_failure
        : job.allow_failure === undefined
          ? false
          : jobAllowFailure;
    return { when, allowFailure };
  }
  return undefined;
}

/** Whether `workflow:rules` create a pipeline for these variables (no workflow creates every pipeline). */
export function workflowCreatesPipeline(config: Record<string, unknown>, variables: Variables): boolean {
  const workflow = config.workflow;
  if (!isRecord(workflow) || !Array.isArray(workflow.rules)) return true;
  for (const rule of workflow.rules) {
    if (!isRecord(rule)) continue;
    if (typeof rule.if === 'string' && !evaluateIf(rule.if, variables)) continue;
    return rule.when !== 'never';
  }
  return false;
}

const NOT_JOBS = new Set([
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
  'spec',
]);

/** The jobs of an expanded configuration (gitlab-ci-local --preview) that a pipeline with these variables gets. */
export function jobsInPipeline(
  config: Record<string, unknown>,
  variables: Variables,
): Map<string, RuleOutcome & { needs: Array<{ job: string; optional: boolean }> }> {
  const jobs = new Map<string, RuleOutcome & { needs: Array<{ job: string; optional: boolean }> }>();
  for (const [name, job] of Object.entries(config)) {
    if (name.startsWith('.') || NOT_JOBS.has(name) || !isRecord(job)) continue;
    const outcome = evaluateRules(job, variables);
    if (!outcome) continue;
    const needs = Array.isArray(job.needs)
      ? job.needs.map((need) =>
          isRecord(need)
            ? { job: String(need.job), optional: need.optional === true }
            : { job: String(need), optional: false },
        )
      : [];
    jobs.set(name, { ...outcome, needs });
  }
  return jobs;
}
