#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for the sweep tests (test/sweep-slurm.test.ts).
#
# Works without systemd (containers, CI): munged, slurmctld and slurmd are started directly as
# daemons, with all their state, spool, sockets and logs under $ACNN_SLURM_DIR so that nothing in
# /etc or /var is needed and a stop + start always begins from a clean slate.
#
# Usage: test/slurm/start-cluster.sh        (idempotent: an already running cluster is left alone)
# Env:   ACNN_SLURM_DIR   where everything lives (default /tmp/acnn-slurm)
#        ACNN_SLURM_CPUS  CPUs of the node and the debug partition (default 2)
# Afterwards `export SLURM_CONF=$ACNN_SLURM_DIR/slurm.conf` lets sinfo/sbatch/squeue find it; the
# script also links /etc/slurm/slurm.conf to it when that path is free, so plain `sinfo` works.
set -euo pipefail

DIR="${ACNN_SLURM_DIR:-/tmp/acnn-slurm}"
CPUS="${ACNN_SLURM_CPUS:-2}"
NODE=localhost
CONF="$DIR/slurm.conf"
export SLURM_CONF="$CONF"

log() { echo "start-cluster: $*" >&2; }

install_packages() {
  local missing=()
  command -v munged >/dev/null 2>&1 || missing+=(munge)
  command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
  command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
  command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  log "installing ${missing[*]} (apt-get)"
  # Without systemd the packages' postinst cannot start services; policy-rc.d keeps them from
  # trying, since we start the daemons ourselves with our own configuration.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

node_state() { sinfo -h -N -n "$NODE" -o '%t' 2>/dev/null | head -n1 | tr -d ' *'; }

wait_idle() {
  local state=""
  for _ in $(seq 1 120); do
    state="$(node_state || true)"
    case "$state" in
      idle|mix|alloc) log "node $NODE is $state"; return 0 ;;
      down|drain|drng|fail) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
  done
  log "node never became idle (last state: '${state:-none}')"
  tail -n 30 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 2>/dev/null || true
  return 1
}

install_packages

if pid_alive "$DIR/run/slurmctld.pid" && pid_alive "$DIR/run/slurmd.pid" && pid_alive "$DIR/munge/munged.pid"; then
  log "already running under $DIR"
  wait_idle
  exit 0
fi

# A half-started cluster from an earlier attempt is stopped before starting anew.
"$(dirname "$0")/stop-cluster.sh" >/dev/null 2>&1 || true
rm -rf "$DIR"
mkdir -p "$DIR"/{munge,state,spool,log,run}
chmod 700 "$DIR/munge"

# munge: a fresh key made here; munged insists the key is private to its user.
dd if=/dev/urandom bs=1 count=1024 of="$DIR/munge/munge.key" status=none
chmod 400 "$DIR/munge/munge.key"
munged --force \
  --key-file="$DIR/munge/munge.key" \
  --socket="$DIR/munge/munge.socket" \
  --pid-file="$DIR/munge/munged.pid" \
  --log-file="$DIR/munge/munged.log" \
  --seed-file="$DIR/munge/munged.seed"
for _ in $(seq 1 50); do [ -S "$DIR/munge/munge.socket" ] && break; sleep 0.1; done
munge -n -S "$DIR/munge/munge.socket" | unmunge -S "$DIR/munge/munge.socket" >/dev/null

# Memory is declared a little under what the machine has: slurmd drains a node whose real
# memory is below the configured amount.
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 256 ))
[ "$MEM_MB" -gt 512 ] || MEM_MB=512

cat >"$CONF" <<CONF
ClusterName=acnn
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${ACNN_SLURMCTLD_PORT:-6817}
SlurmdPort=${ACNN_SLURMD_PORT:-6818}
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups in a container: track processes by their parent pid, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# The node's real core count may differ from what we declare; use the declared one.
SlurmdParameters=config_overrides
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF

# Plain `sinfo`/`sbatch` (without SLURM_CONF) find the cluster too, unless the machine has its own.
if [ ! -e /etc/slurm/slurm.conf ] || [ -L /etc/slurm/slurm.conf ]; then
  mkdir -p /etc/slurm
  ln -sfn "$CONF" /etc/slurm/slurm.conf
fi

slurmctld -f "$CONF"
for _ in $(seq 1 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
slurmd -f "$CONF" -N "$NODE"
wait_idle
log "cluster up: SLURM_CONF=$CONF, partition debug with $CPUS CPUs"
