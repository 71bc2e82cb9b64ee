// Sample values for a template's inputs, so a template can be resolved, checked or linted without a real consumer:
// `slipway templates check` resolves its jobs with them, `slipway gitlab lint` includes it with them.
import type { InputSpec, InputValue } from './template-file';

// Values a consumer of the Slipway templates would pass. A made-up app, "example", so a template is checked as any
// consumer would include it, whatever apps this repository has.
const SAMPLE_STRINGS: Record<string, string> = {
  'app-name': 'example',
  'job-prefix': 'example',
  'app-path': 'apps/example',
  environment: 'staging',
  url: 'https://example-staging.example.com',
};
const FALLBACK_STRINGS = ['example', 'apps/example', 'https://example.com', 'staging'];

/**
 * A value that input `name` accepts: its first option; `true`, `1` or `[]` by type; for a string, the sample for
 * that input name or a fallback, the first that matches the input's `regex` (GitLab checks it with RE2; for the
 * simple patterns templates use, JavaScript's RegExp agrees).
 */
export function sampleInputValue(name: string, spec: InputSpec): InputValue {
  if (Array.isArray(spec.options) && spec.options.length > 0) return spec.options[0] as InputValue;
  switch (spec.type) {
    case 'boolean':
      return true;
    case 'number':
      return 1;
    case 'array':
      return [];
    default: {
      const candidates = [SAMPLE_STRINGS[name], ...FALLBACK_STRINGS].filter(
        (candidate): candidate is string => candidate !== undefined,
      );
      if (typeof spec.regex !== 'string') return candidates[0]!;
      let pattern: RegExp;
      try {
        pattern = new RegExp(spec.regex);
      } catch {
        return candidates[0]!; // an invalid regex is checkInputSpecs()'s to report
      }
      return candidates.find((candidate) => pattern.test(candidate)) ?? candidates[0]!;
    }
  }
}

/** For every input (`spec: inputs:`) without a value in `values`: its default, else a sample value. */
export function withSampleInputs(
  inputs: Record<string, InputSpec>,
  values: Record<string, InputValue> = {},
): Record<string, InputValue> {
  const complete = { ...values };
  for (const [name, spec] of Object.entries(inputs)) {
    if (!(name in complete)) {
      complete[name] =
        spec.default !== undefined ? (spec.default as InputValue) : sampleInputValue(name, spec);
    }
  }
  return complete;
}
