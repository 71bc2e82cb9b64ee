#!/bin/sh
# The deploy host's entrypoint: host keys, the authorized key, the Docker connection for login sessions, then sshd.
#   SSH_AUTHORIZED_KEYS  public key line(s) allowed to log in as root (or mount /root/.ssh/authorized_keys)
#   DOCKER_HOST          how the Docker CLI reaches the engine (default: the mounted /var/run/docker.sock)
# sshd starts each login with a fresh environment, so DOCKER_* variables are handed on through /etc/environment,
# which PAM (pam_env) reads for every session.
set -eu
ssh-keygen -A >/dev/null
install -d -m 700 /root/.ssh
if [ -n "${SSH_AUTHORIZED_KEYS:-}" ]; then
  printf '%s\n' "$SSH_AUTHORIZED_KEYS" >/root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
if [ ! -s /root/.ssh/authorized_keys ]; then
  echo "deploy-host: no authorized key: set SSH_AUTHORIZED_KEYS or mount /root/.ssh/authorized_keys" >&2
  exit 1
fi
: >/etc/environment
for name in DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH; do
  eval "value=\${$name:-}"
  [ -z "$value" ] || printf '%s=%s\n' "$name" "$value" >>/etc/environment
done
install -d -m 755 /run/sshd
if [ "$#" -eq 0 ]; then
  set -- /usr/sbin/sshd -D -e
fi
exec "$@"
