// Validates a template's `spec: inputs:` header, and the inputs a pipeline passes to it. GitLab validates inputs when
// it creates a pipeline; gitlab-ci-local only partly, so these checks are the project's own, run before a push.
import {
  INPUT_TYPES,
  isRecord,
  type CiTemplate,
  type InputSpec,
  type InputType,
  type InputValue,
} from './template-file';

export interface InputCheck {
  /** Provided values merged over defaults (inputs without either are left out). */
  values: Record<string, InputValue>;
  problems: string[];
}

const INPUT_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

// GitLab evaluates `regex` with RE2, which has no lookaround and no backreferences; JavaScript has both, so a
// pattern that works here could be rejected (or silently differ) on GitLab.
const RE2_UNSUPPORTED = [/\(\?<?[=!]/, /\\[1-9]/, /\\k</];

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

function declaredType(spec: InputSpec): InputType {
  return (INPUT_TYPES as readonly unknown[]).includes(spec.type) ? (spec.type as InputType) : 'string';
}

/** Problems with one value against its input spec: type, options, regex. */
function valueProblems(name: string, spec: InputSpec, value: unknown, what: string): string[] {
  const type = declaredType(spec);
  if (typeOf(value) !== type) {
    return [`${what} "${name}" must be a ${type}, got ${typeOf(value)} ${describe(value)}`];
  }
  const problems: string[] = [];
  if (Array.isArray(spec.options)) {
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (!spec.options.includes(item)) {
        problems.push(
          `${what} "${name}": ${describe(item)} is not one of the options ${spec.options.map(describe).join(', ')}`,
        );
      }
    }
  }
  if (typeof spec.regex === 'string' && typeof value === 'string') {
    let pattern: RegExp | undefined;
    try {
      pattern = new RegExp(spec.regex);
    } catch {
      // reported by checkInputSpecs()
    }
    if (pattern && !pattern.test(value)) {
      problems.push(`${what} "${name}": ${describe(value)} does not match the regex ${spec.regex}`);
    }
  }
  return problems;
}

/** Problems with the `spec: inputs:` header itself: every input documented, typed, and its default valid. */
export function checkInputSpecs(template: CiTemplate): string[] {
  const problems: string[] = [];
  if (Object.keys(template.inputs).length === 0) problems.push('the spec header declares no inputs');
  for (const [name, spec] of Object.entries(template.inputs)) {
    const where = `input "${name}"`;
    if (!INPUT_NAME.test(name)) problems.push(`${where}: input names are kebab-case`);
    if (typeof spec.description !== 'string' || spec.description.trim() === '') {
      problems.push(`${where} has no description`);
    }
    if (!(INPUT_TYPES as readonly unknown[]).includes(spec.type)) {
      problems.push(`${where} needs a type: one of ${INPUT_TYPES.join(', ')} (got ${describe(spec.type)})`);
      continue;
    }
    if (spec.options !== undefined) {
      if (!Array.isArray(spec.options) || spec.options.length === 0) {
        problems.push(`${where}: options must be a non-empty list`);
      } else if (spec.type === 'boolean') {
        problems.push(`${where}: a boolean input cannot have options`);
      }
    }
    if (spec.regex !== undefined) {
      if (spec.type !== 'string' || typeof spec.regex !== 'string') {
        problems.push(`${where}: regex applies to string inputs only`);
      } else {
        try {
          new RegExp(spec.regex);
          if (RE2_UNSUPPORTED.some((construct) => construct.test(spec.regex as string))) {
            problems.push(
              `${where}: regex ${spec.regex} uses lookaround or backreferences, which GitLab's RE2 rejects`,
            );
          }
        } catch (error) {
          problems.push(
            `${where}: regex ${spec.regex} is not a valid regular expression (${(error as Error).message})`,
          );
        }
      }
    }
    if (spec.default !== undefined)
      problems.push(...valueProblems(name, spec, spec.default, 'default of input'));
  }
  return problems;
}

/**
 * Checks the inputs an `include:` passes to a template: unknown names, missing required inputs, types, `options`
 * and `regex` (GitLab enforces `regex`; gitlab-ci-local releases before 4.75 ignored it).
 */
export function checkTemplateInputs(template: CiTemplate, provided: Record<string, unknown>): InputCheck {
  const problems: string[] = [];
  const values: Record<string, InputValue> = {};
  for (const name of Object.keys(provided)) {
    if (!(name in template.inputs)) {
      problems.push(
        `unknown input "${name}"; ${template.name}.yml takes ${Object.keys(template.inputs).join(', ')}`,
      );
    }
  }
  for (const [name, spec] of Object.entries(template.inputs)) {
    if (name in provided) {
      const value = provided[name];
      const valueIssues = valueProblems(name, spec, value, 'input');
      problems.push(...valueIssues);
      if (valueIssues.length === 0) values[name] = value as InputValue;
    } else if (spec.default !== undefined) {
      values[name] = spec.default as InputValue;
    } else {
      problems.push(
        `input "${name}" is required (it has no default): ${String(spec.description ?? '')}`.trim(),
      );
    }
  }
  return { values, problems };
}

/**
 * Turns `--input name=value` text into the input's declared type: numbers and booleans are parsed, arrays are
 * JSON (`["a","b"]`); strings are taken as they are.
 */
export function parseInputArgument(template: CiTemplate, argument: string): [string, unknown] {
  const separator = argument.indexOf('=');
  if (separator <= 0) throw new Error(`--input "${argument}" must be name=value`);
  const name = argument.slice(0, separator);
  const raw = argument.slice(separator + 1);
  const spec = template.inputs[name];
  if (!spec) return [name, raw];
  switch (declaredType(spec)) {
    case 'number':
      return [name, raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw];
    case 'boolean':
      return [name, raw === 'true' ? true : raw === 'false' ? false : raw];
    case 'array':
      try {
        const parsed: unknown = JSON.parse(raw);
        return [name, Array.isArray(parsed) ? parsed : raw];
      } catch {
        return [name, raw];
      }
    default:
      return [name, raw];
  }
}

/** The `inputs:` of an include entry, or {} when it passes none. */
export function includeInputs(entry: Record<string, unknown>): Record<string, unknown> {
  return isRecord(entry.inputs) ? entry.inputs : {};
}
