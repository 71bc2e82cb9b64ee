// Reads a CI template (ci-templates/*.yml): a `spec: inputs:` header document, `---`, then the jobs document.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Pair, parseAllDocuments, Scalar, YAMLMap, YAMLSeq, type CollectionTag } from 'yaml';

export const INPUT_TYPES = ['string', 'number', 'boolean', 'array'] as const;
export type InputType = (typeof INPUT_TYPES)[number];
export type InputValue = string | number | boolean | unknown[];

/** One entry of `spec: inputs:`, as written (unvalidated: checkInputSpecs() says what is wrong with it). */
export interface InputSpec {
  description?: unknown;
  type?: unknown;
  default?: unknown;
  options?: unknown;
  regex?: unknown;
}

export interface CiTemplate {
  /** File name without `.yml`, e.g. `deploy`; the hidden base job is `.<first job's name>-base`. */
  name: string;
  file: string;
  inputs: Record<string, InputSpec>;
  /** The jobs document; `!reference [job, key]` becomes `{ '!reference': [job, key] }`. */
  body: Record<string, unknown>;
}

export const REFERENCE_KEY = '!reference';

/** Keeps `!reference` visible after toJS(): the tagged list becomes `{ '!reference': [job, key] }`. */
const referenceTag: CollectionTag = {
  tag: '!reference',
  collection: 'seq',
  default: false,
  resolve(seq) {
    const reference = new YAMLMap(seq.schema);
    reference.add(new Pair(new Scalar(REFERENCE_KEY), new YAMLSeq(seq.schema)));
    (reference.items[0]!.value as YAMLSeq).items = (seq as YAMLSeq).items;
    return reference;
  },
};

/** Parses every YAML document of a CI file, with GitLab's `!reference` tag understood. */
export function parseCiDocuments(text: string, file: string): unknown[] {
  const documents = parseAllDocuments(text, { customTags: [referenceTag] });
  if (!Array.isArray(documents)) return [];
  return documents.map((document) => {
    const [error] = document.errors;
    if (error) throw new Error(`${file}: invalid YAML: ${error.message}`);
    return document.toJS({ maxAliasCount: -1 });
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function inputsOf(header: unknown): Record<string, InputSpec> {
  const spec = isRecord(header) ? header.spec : undefined;
  const inputs = isRecord(spec) && isRecord(spec.inputs) ? spec.inputs : {};
  return Object.fromEntries(
    Object.entries(inputs).map(([name, entry]) => [name, isRecord(entry) ? entry : {}]),
  );
}

/** Parses template text; throws when the file is not a `spec:` header plus a jobs document. */
export function parseTemplate(text: string, file: string): CiTemplate {
  const documents = parseCiDocuments(text, file);
  const [header, body] = documents;
  if (documents.length !== 2 || !isRecord(header) || !('spec' in header)) {
    throw new Error(
      `${file}: a template is two YAML documents: a "spec: inputs:" header, "---", then the jobs`,
    );
  }
  return {
    name: path.basename(file).replace(/\.ya?ml$/, ''),
    file,
    inputs: inputsOf(header),
    body: isRecord(body) ? body : {},
  };
}

/**
 * The `spec: inputs:` of a template, from its header document alone. GitLab reads the header first and interpolates
 * the inputs into the jobs before it parses them, so the jobs need not be valid YAML before interpolation.
 */
export function parseTemplateInputs(text: string, file: string): Record<string, InputSpec> {
  const [header] = parseAllDocuments(text, { customTags: [referenceTag] });
  const error = header?.errors[0];
  if (error) throw new Error(`${file}: invalid YAML: ${error.message}`);
  return inputsOf(header?.toJS({ maxAliasCount: -1 }));
}

export function readTemplate(file: string): CiTemplate {
  return parseTemplate(readFileSync(file, 'utf8'), file);
}

/** True when the file starts with a `spec:` header, i.e. it is a template rather than a pipeline. */
export function isTemplateText(text: string, file: string): boolean {
  const [first] = parseCiDocuments(text, file);
  return isRecord(first) && 'spec' in first;
}
