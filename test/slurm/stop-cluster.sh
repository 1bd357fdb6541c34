#!/usr/bin/env bash
# Stops the cluster that start-cluster.sh started: cancels its jobs, shuts slurmctld and slurmd
# down through Slurm, then ends munged. Only processes recorded in $ACNN_SLURM_DIR's pid files
# are signalled, never anything found by name.
set -uo pipefail

DIR="${ACNN_SLURM_DIR:-/tmp/acnn-slurm}"
export SLURM_CONF="$DIR/slurm.conf"

stop_pid() {
  local file=$1
  [ -f "$file" ] || return 0
  local pid; pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  rm -f "$file"
}

if [ -f "$SLURM_CONF" ] && [ -f "$DIR/run/slurmctld.pid" ]; then
  scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
  scontrol shutdown >/dev/null 2>&1 || true
  sleep 0.5
fi
stop_pid "$DIR/run/slurmd.pid"
stop_pid "$DIR/run/slurmctld.pid"
stop_pid "$DIR/munge/munged.pid"
if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$SLURM_CONF" ]; then
  rm -f /etc/slurm/slurm.conf
fi
echo "stop-cluster: stopped" >&2
