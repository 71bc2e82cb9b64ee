// Stand-ins for the deploy template's tools (kubectl, ssh, docker): there is no cluster and no ssh host here, so they
// keep their state in files under $FAKE_STATE and record every call in $FAKE_STATE/calls.
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// kubectl: the Deployment's image lives in $FAKE_STATE/image, its history in $FAKE_STATE/history; the rollout of
// the image named in $FAKE_STATE/failing-image never becomes ready.
export const FAKE_KUBECTL = `#!/bin/sh
echo "kubectl $*" >>"$FAKE_STATE/calls"
while [ "$#" -gt 0 ]; do
  case "$1" in --context|--namespace) shift 2 ;; *) break ;; esac
done
case "$1 $2" in
  "get deployment/api") cat "$FAKE_STATE/image" 2>/dev/null ;;
  "set image")
    [ -f "$FAKE_STATE/image" ] && cat "$FAKE_STATE/image" >>"$FAKE_STATE/history"
    printf '%s' "\${4#api=}" >"$FAKE_STATE/image" ;;
  "annotate deployment/api") ;;
  "rollout status")
    if [ "$(cat "$FAKE_STATE/image")" = "$(cat "$FAKE_STATE/failing-image" 2>/dev/null)" ]; then
      echo "deployment api exceeded its progress deadline" >&2
      exit 1
    fi ;;
  "rollout undo") tail -n 1 "$FAKE_STATE/history" | tr -d '\\n' >"$FAKE_STATE/image" ;;
  *) echo "fake kubectl: unexpected $*" >&2; exit 2 ;;
esac
`;

// ssh: runs the remote command here, as if the host were this machine. Like ssh, it joins the arguments after the
// host into one command line for a shell, so a value spliced into that line would run as code here too. Like ssh, it
// ignores a key file that others can read ("bad permissions").
export const FAKE_SSH = `#!/bin/sh
echo "ssh $*" >>"$FAKE_STATE/calls"
while [ "$#" -gt 0 ]; do
  case "$1" in
    -i)
      if [ "$(stat -c %a "$2")" != 600 ]; then echo "Load key \\"$2\\": bad permissions" >&2; exit 255; fi
      shift 2 ;;
    -o) shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
shift
exec sh -c "$*"
`;

// docker: "compose up" fails for the image named in $FAKE_STATE/failing-image.
export const FAKE_DOCKER = `#!/bin/sh
echo "docker $*" >>"$FAKE_STATE/calls"
if [ -f "$FAKE_STATE/failing-image" ] && grep -qF "$(cat "$FAKE_STATE/failing-image")" slipway.env; then
  echo "container api is unhealthy" >&2
  exit 1
fi
`;

/** Writes the stand-ins into `bin` (put it first on PATH). */
export function installDeployStandIns(bin: string): void {
  for (const [name, script] of Object.entries({
    kubectl: FAKE_KUBECTL,
    ssh: FAKE_SSH,
    docker: FAKE_DOCKER,
  })) {
    writeFileSync(path.join(bin, name), script);
    chmodSync(path.join(bin, name), 0o755);
  }
}
