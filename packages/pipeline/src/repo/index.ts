// The repository's door: where it is, its apps and what they declare, their pipelines, and the CI templates.
export {
  APPS_DIRECTORY,
  appPipelineFile,
  findRepositoryRoot,
  listAppDirectories,
  listPipelineFiles,
  listTemplateFiles,
  PIPELINE_FILE,
  TEMPLATES_DIRECTORY,
} from './repository';
export {
  APP_RUN_TASKS,
  AppDeclarationError,
  DEFAULT_SECRET_ENVIRONMENTS,
  declaredSecrets,
  readRepositoryApps,
  turboPassThroughProblems,
  type DeclaredSecret,
  type DeclaredVariable,
  type RepositoryApp,
} from './apps';
export {
  appMentionsOutsideApps,
  appNamePattern,
  filesCheckedForAppNames,
  type AppMention,
  type NamedApp,
} from './app-mentions';
