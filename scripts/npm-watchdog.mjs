// A long-running npm script (npm start, npm run dev) must not outlive the npm that runs it. npm passes no SIGKILL
// on (nor SIGHUP), and it runs the script through a shell (`sh -c "node scripts/<script>.mjs"`, as
// @npmcli/run-script does) that outlives npm, so watching only our parent (the shell) would leave the apps running
// after `kill -KILL <npm>`. The watch covers the chain of parents up to npm instead.
import { readFileSync } from 'node:fs';

const SHELL = /^(sh|dash|bash|ash|zsh|ksh|busybox)$/;
const POLL_MS = 1000;

/**
 * Calls `onEnd` once (within about a second) when this process's parent ends or, when that parent is a shell
 * (npm's `sh -c`), when the shell's parent (npm) ends. A parent link counts as broken when its process is gone or
 * has another parent (the kernel reparents an orphan to init or a subreaper), so a reused pid cannot pass for npm.
 * Reads /proc/<pid>/stat (Linux); without /proc only our own parent is watched. The timer does not keep the
 * process alive.
 */
export function whenNpmEnds(onEnd) {
  const links = [{ pid: process.pid, parent: process.ppid }];
  const shell = procStat(process.ppid);
  if (shell && SHELL.test(shell.command)) links.push({ pid: process.ppid, parent: shell.parent });
  const timer = setInterval(() => {
    if (links.every(isStillChildOf)) return;
    clearInterval(timer);
    onEnd();
  }, POLL_MS);
  timer.unref();
}

/** The command name (at most 15 characters) and parent pid of `pid` from /proc/<pid>/stat; undefined when unknown. */
function procStat(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "<pid> (<command>) <state> <parent pid> ...": the command may hold spaces and parentheses, so split at the last ")".
  const close = stat.lastIndexOf(')');
  return {
    command: stat.slice(stat.indexOf('(') + 1, close),
    parent: Number(stat.slice(close + 2).split(' ')[1]),
  };
}

function isStillChildOf({ pid, parent }) {
  if (pid === process.pid) return process.ppid === parent && isAlive(parent);
  return procStat(pid)?.parent === parent;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
