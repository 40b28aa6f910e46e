#!/usr/bin/env bash
# Stops the single-node Slurm cluster that scripts/slurm-up.sh started: exactly
# the daemons it recorded (by pid), then removes its /etc/slurm/slurm.conf link
# and its state folder. Does nothing when no such cluster is up.
set -euo pipefail

dir=${RUNNER_SLURM_DIR:-/tmp/runner-slurm}
conf=/etc/slurm/slurm.conf
say() { echo "slurm-down: $*" >&2; }

if [ ! -f "$dir/pids" ]; then
  say "no cluster started by slurm-up.sh (no $dir/pids)"
  exit 0
fi
# Newest first: slurmd, slurmctld, then munged if this script's twin started it.
pids=$(tac "$dir/pids")
for pid in $pids; do
  kill "$pid" 2>/dev/null || true
done
for pid in $pids; do
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid did not stop on SIGTERM; killing it"
    kill -9 "$pid" 2>/dev/null || true
  fi
done
if [ -L "$conf" ] && [ "$(readlink "$conf")" = "$dir/slurm.conf" ]; then
  rm -f "$conf"
fi
rm -rf "$dir"
say "stopped"
