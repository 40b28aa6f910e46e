#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine for runner's Slurm tests and
# benchmark: installs Debian's slurmctld, slurmd, slurm-client and munge when
# missing, writes a slurm.conf for this host (its CPUs and memory), starts munged,
# slurmctld and slurmd, and waits until `sinfo` shows the node idle.
#
# State, logs and the configuration live in $RUNNER_SLURM_DIR (default
# /tmp/runner-slurm). /etc/slurm/slurm.conf is linked to that configuration so that
# sbatch, squeue and friends find it without SLURM_CONF; an existing configuration
# that this script did not write is never touched (the script stops instead).
# scripts/slurm-down.sh stops exactly the daemons started here (by pid).
set -euo pipefail

dir=${RUNNER_SLURM_DIR:-/tmp/runner-slurm}
conf=/etc/slurm/slurm.conf
marker="# written by runner's scripts/slurm-up.sh"

say() { echo "slurm-up: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (slurmd starts jobs as their users)"

need=()
for bin in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
  command -v "${bin%%:*}" >/dev/null 2>&1 || need+=("${bin##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
  }
fi

if [ -e "$conf" ] && ! grep -qF "$marker" "$conf"; then
  die "$conf exists and was not written by this script: use that cluster, or move it away"
fi
if sinfo >/dev/null 2>&1 && [ -e "$dir/pids" ]; then
  say "already up (state in $dir)"
  exit 0
fi

mkdir -p "$dir"/{state,spool,log}
host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mem_per_cpu=$((mem_mb / cpus))
cat >"$dir/slurm.conf" <<CONF
$marker
ClusterName=runner-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=300
KillWait=10
DefMemPerCPU=$mem_per_cpu
InactiveLimit=0
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p /etc/slurm
ln -sfn "$dir/slurm.conf" "$conf"

: >"$dir/pids"
# Each daemon writes its pid file once it runs in the background; slurm-down.sh
# stops exactly these pids.
wait_for_pid() {
  for i in $(seq 1 100); do
    [ -s "$1" ] && { cat "$1" >>"$dir/pids"; return 0; }
    sleep 0.1
  done
  die "$2 did not start; see $dir/log/"
}
if ! pgrep -x munged >/dev/null; then
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  [ -s /etc/munge/munge.key ] || /usr/sbin/mungekey --create --force
  rm -f /run/munge/munged.pid
  /usr/sbin/munged --force 2>>"$dir/log/munged.log"
  wait_for_pid /run/munge/munged.pid munged
fi
/usr/sbin/slurmctld
wait_for_pid "$dir/slurmctld.pid" slurmctld
/usr/sbin/slurmd
wait_for_pid "$dir/slurmd.pid" slurmd

for i in $(seq 1 120); do
  state=$(sinfo --noheader --nodes="$host" --format=%t 2>/dev/null || true)
  case "$state" in
    idle*) say "up: node $host idle with $cpus CPUs and ${mem_mb} MB (state in $dir)"; exit 0 ;;
  esac
  sleep 0.5
done
die "the node did not become idle (state: ${state:-none}); see $dir/log/"
