export {
  baseEnvSchema,
  booleanVariable,
  CONFIG_ERROR_EXIT_CODE,
  ConfigError,
  exitOnConfigError,
  exitOnStartupError,
  integerVariable,
  loadConfig,
  loadConfigOrExit,
  oneOfVariable,
  portVariable,
  type BaseConfig,
} from './config';
export { createLogger, createUrlRedactor, redactUrl, type Logger, type LoggerOptions } from './logger';
export { createRequestLogger, requestIdFrom, type RequestLoggerOptions } from './request-context';
export {
  HealthRegistry,
  healthRouter,
  type CheckResult,
  type HealthCheck,
  type HealthRelease,
  type HealthReport,
  type HealthStatus,
} from './health';
export { resolveVersionInfo, type VersionInfo } from './version';
export {
  HttpError,
  errorHandler,
  notFoundHandler,
  defaultErrorPage,
  handledProblemOf,
  type ErrorHandlerOptions,
  type HandledProblem,
  type ProblemDetails,
  type ErrorPageRenderer,
} from './errors';
export { escapeHtml } from './html';
export { plainIssueMessages } from './issue-messages';
export { describeRequestIssue, parseRequestInput, type RequestInputSource } from './request-input';
export { DEFAULT_MAX_REQUEST_BODY_BYTES, rejectDeclaredOversizedBodies } from './request-body';
export { createServiceApp, type ServiceAppOptions } from './service-app';
export {
  startServer,
  KEEP_ALIVE_TIMEOUT_MS,
  HEADERS_TIMEOUT_MS,
  type RunningServer,
  type ServerOptions,
} from './server';
