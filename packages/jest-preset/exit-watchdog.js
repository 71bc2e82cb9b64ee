// globalTeardown of the preset: a bound on the time Jest may linger after the last test.
//
// A test that leaks a handle (a listening server, a child process's pipe, an interval) keeps Jest's process
// alive after the run: Jest prints "Jest did not exit one second after the test run has completed" and
// waits forever, and so does `npm test` and the CI job around it. `forceExit` would end that, but it prints
// "Force exiting Jest" after every run, leak or not, which reads like a failure. This timer is unref'd, so
// it never keeps the process alive itself: after a clean run Jest exits at once, silently. Only when
// something else still holds the process LINGER_LIMIT_MS later does it say so and exit, with the run's own
// exit code (Jest sets it on 'exit'). `--detectOpenHandles` and watch mode keep Jest's own behaviour, for
// hunting the leak.
const LINGER_LIMIT_MS = 10_000;

module.exports = async function armExitWatchdog(globalConfig) {
  if (globalConfig.detectOpenHandles || globalConfig.watch || globalConfig.watchAll) return;
  setTimeout(() => {
    process.stderr.write(
      `jest-preset: open handles kept Jest alive ${LINGER_LIMIT_MS / 1000} s after the last test; exiting. ` +
        'Run jest with --detectOpenHandles to find them.\n',
    );
    process.exit();
  }, LINGER_LIMIT_MS).unref();
};
