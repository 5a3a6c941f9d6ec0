#!/usr/bin/env bash
# ray up / ray exec / ray down of ray_cluster.onprem.yaml on this machine, run by
# tests/test_sweep_cluster_onprem.py as PID 1 of a PID and mount namespace of its own
# (`unshare --pid --fork --kill-child --mount-proc`). In there `ray stop` and `ray down` see
# only this namespace's processes, never another user's Ray; the home directory and /tmp the
# cluster writes to are private directories bound over the real ones, so ~/.ssh, ~/.ray and
# /tmp/ray of this machine are untouched; and when this script ends the kernel ends whatever
# it started that is still running.
#
# Two "hosts", each such a namespace: ROLE=worker makes this script the worker, 127.0.0.2,
# which only runs its sshd; ROLE=head makes it the head, 127.0.0.1, which runs its sshd and
# the whole scenario. Apart, each host's `ray stop` sees only its own processes and its Ray
# session directory (/tmp/ray) is its own; they share the private home, as hosts with an NFS
# home do.
#
# Environment: ROLE, BASE (the test's directory: home/, and the hosts' /tmp directories),
# HOST_TMP (this host's /tmp), REAL_HOME, BIND_RO and BIND_RW (paths under the real home the
# client needs: its Python, pip's configuration and cache), KEEP_TMP (paths under /tmp it
# needs), REPO, CLIENT_BIN (the Ray
# client's bin directory), SWEEP and NAME (the `sweep run` arguments and the sweep's name; it
# goes to ~/sweeps), SSHD (the sshd binary).
set -euo pipefail
log() { echo "[onprem $(date -u +%T)] $*"; }

log "processes visible in this namespace at the start:"
ps -e -o pid=,comm=

# Bind what the client needs from the real home into the private one, then the private home
# and /tmp over the real ones (mounts made here stay in this namespace: unshare's default).
for path in $BIND_RO $BIND_RW; do
  mkdir -p "$BASE/home/$path"
  mount --bind "$REAL_HOME/$path" "$BASE/home/$path"
done
for path in $BIND_RO; do
  mount -o remount,bind,ro "$BASE/home/$path"
done
# Paths under /tmp that the scenario needs (KEEP_TMP: the repository and the client's
# virtual environment, when they are in a clone under /tmp) would vanish under the host's
# private /tmp: staged in the private home first, then bound back at their own paths.
i=0
for path in $KEEP_TMP; do
  mkdir -p "$BASE/home/.keep-tmp/$i"
  mount --bind "$path" "$BASE/home/.keep-tmp/$i"
  i=$((i + 1))
done
mount --rbind "$BASE/home" "$REAL_HOME"  # --rbind: with the binds inside it
mount --bind "$HOST_TMP" /tmp
i=0
for path in $KEEP_TMP; do
  mkdir -p "$path"
  mount --bind "$REAL_HOME/.keep-tmp/$i" "$path"
  i=$((i + 1))
done
export HOME="$REAL_HOME" PATH="$CLIENT_BIN:$PATH"
if [ "$ROLE" = worker ]; then
  exec "$SSHD" -D -e -f "$HOME/sshd/worker_config"
fi
CONFIG="$HOME/cluster.yaml"
cd "$REPO"

UP="" HEAD_SSHD=""
cleanup() {
  local status=$?
  if [ -n "$UP" ]; then
    log "ray down (after a failure)"
    ray down -y "$CONFIG" || status=1
  fi
  stop_sshd
  exit "$status"
}
stop_sshd() {
  # The launcher's SSH connections (ControlPersist) first, then sshd by its id.
  for socket in /tmp/ray_ssh_*/*/*; do
    [ -S "$socket" ] && ssh -O exit -o ControlPath="$socket" ignored 2>/dev/null || true
  done
  if [ -n "$HEAD_SSHD" ]; then
    kill "$HEAD_SSHD" && wait "$HEAD_SSHD" || true
    log "sshd $HEAD_SSHD stopped"
    HEAD_SSHD=""
  fi
}
trap cleanup EXIT

wait_for_ssh() {
  for _ in $(seq 50); do
    ssh -o BatchMode=yes -o ConnectTimeout=2 "$1" true 2>/dev/null && return
    sleep 0.2
  done
  ssh -o BatchMode=yes -o ConnectTimeout=5 "$1" true
}

"$SSHD" -D -e -f "$HOME/sshd/head_config" 2>"$HOME/sshd/head.log" &
HEAD_SSHD=$!
wait_for_ssh 127.0.0.1
wait_for_ssh 127.0.0.2  # the worker host, started by the test beside this one
log "the head's sshd $HEAD_SSHD (127.0.0.1) and the worker's (127.0.0.2) accept the throw-away key"

ray get-auth-token --generate >/dev/null
log "a throw-away token in the private ~/.ray/auth_token"

UP=1
log "ray up"
ray up -y --no-config-cache "$CONFIG"
log "ray up completed"

on_head() { ray exec "$CONFIG" "$1"; }
log "waiting for the worker to join (the head's autoscaler sets it up over SSH)"
on_head "python ~/betasweep/tests/onprem_wait_for_nodes.py 2 600"
on_head "ray status"
log "sweep run on the cluster"
on_head "sweep run --address auto --storage ~/sweeps --name $NAME $SWEEP"
log "sweep completed"
on_head "sweep status $NAME --storage ~/sweeps"

log "ray down"
ray down -y "$CONFIG"
UP=""
log "ray down completed"
# `ray down` runs `ray stop` on the head alone: the workers' raylets end once the head is
# gone, other Ray processes stay (README.md says so). Stop them as the README says.
log "left running on the worker: $(ssh 127.0.0.2 ps -e -o comm= | sort | uniq -c | xargs)"
ssh 127.0.0.2 '~/betasweep-env/bin/ray stop'
log "ray stop on the worker completed"

stop_sshd
# Anything but this script (PID 1) and ps left? sshd's sessions end with their connections.
only_this_script_left() {
  ps -e -o pid=,comm= >"$HOME/left.txt"
  ! grep -q -v -E '^ *1 |ps$' "$HOME/left.txt"
}
for _ in $(seq 50); do
  only_this_script_left && break
  sleep 0.2
done
log "processes left in this namespace (this script and ps):"
cat "$HOME/left.txt"
