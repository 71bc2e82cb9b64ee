// PORT names the port of one app: `npm start` and `npm run dev` refuse it with more than one app (two apps on one
// port: the second fails with EADDRINUSE), with this one line and exit 2.

/**
 * The usage error for PORT set while `apps` (at least two) would run: `command` is how the person ran it
 * ("npm start"), `nameOne` the same command naming the first app, which the message offers instead.
 * Returns one line, without a newline.
 */
export function portForOneAppMessage({ command, port, nameOne }) {
  return `${command}: PORT applies to one app; name it: PORT=${port} ${nameOne}`;
}
