# A one-node Slurm cluster on this machine, for scripts/slurm/test-local and bench/slurm (source this file).
#
#   local_cluster_install        installs Debian's slurm-wlm and munge when slurmctld, slurmd or munged is missing
#   local_cluster_start DIR      writes DIR/slurm.conf (this host, loopback only, CPUs = nproc) and starts munged,
#                                slurmctld and slurmd with their state, logs and sockets under DIR; exports SLURM_CONF
#   local_cluster_wait JOBS S    waits until none of the job ids JOBS is pending or running, at most S seconds
#   local_cluster_state JOB      the job's state (COMPLETED, FAILED, ...) from scontrol
#   local_cluster_stop           stops the daemons local_cluster_start started (by their pids) and nothing else
#
# Nothing listens beyond 127.0.0.1: slurmctld and slurmd bind the node's loopback address and munged a socket file.
# The ports are chosen free at start. Needs root (slurmd starts jobs as the submitting user) or sudo.

LOCAL_CLUSTER_PIDS=()
LOCAL_CLUSTER_DIR=""

local_cluster_sudo() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

local_cluster_install() {
    local missing=()
    command -v slurmctld >/dev/null 2>&1 || missing+=(slurm-wlm)
    command -v munged >/dev/null 2>&1 || missing+=(munge)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "local-cluster: installing ${missing[*]}" >&2
        local_cluster_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        local_cluster_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
    fi
}

# A TCP port on 127.0.0.1 nobody listens on.
local_cluster_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

local_cluster_start() {
    local dir="$1" host cpus mem ctld_port slurmd_port i
    LOCAL_CLUSTER_DIR="$dir"
    host="$(hostname -s)"
    cpus="$(nproc)"
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
    ctld_port="$(local_cluster_free_port)"
    slurmd_port="$(local_cluster_free_port)"
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
    chmod 700 "$dir/munge"
    # munged: a key of its own and a socket in DIR, so a munged the machine may already run is left alone.
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/munge.key"
    local_cluster_sudo munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"
    LOCAL_CLUSTER_PIDS+=("$(local_cluster_wait_pid "$dir/munge/munged.pid")")
    cat > "$dir/slurm.conf" <<CONF
# One node, this machine, loopback only (written by scripts/slurm/local-cluster.sh).
ClusterName=tweedie-local
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
SlurmctldParameters=enable_configless
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${dir}/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=600
NodeName=${host} NodeAddr=127.0.0.1 NodeHostname=${host} CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=local Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$dir/slurm.conf"
    local_cluster_sudo slurmctld -f "$SLURM_CONF" -i
    LOCAL_CLUSTER_PIDS+=("$(local_cluster_wait_pid "$dir/slurmctld.pid")")
    local_cluster_sudo slurmd -f "$SLURM_CONF"
    LOCAL_CLUSTER_PIDS+=("$(local_cluster_wait_pid "$dir/slurmd.pid")")
    for i in $(seq 1 60); do
        case "$(sinfo -h -N -o %T 2>/dev/null | head -1)" in
            idle*|mixed*|allocated*) return 0 ;;
        esac
        sleep 1
    done
    echo "local-cluster: the node did not come up in 60 s; logs in $dir/log" >&2
    sinfo -N >&2 || true
    return 1
}

# The pid a daemon wrote to FILE (waits up to 20 s for it).
local_cluster_wait_pid() {
    local file="$1" i
    for i in $(seq 1 200); do
        if [ -s "$file" ]; then cat "$file"; return 0; fi
        sleep 0.1
    done
    echo "local-cluster: $file did not appear" >&2
    return 1
}

local_cluster_wait() {
    local jobs="$1" timeout="$2" start=$SECONDS
    while [ $(( SECONDS - start )) -lt "$timeout" ]; do
        if [ -z "$(squeue -h -j "$jobs" -o %i 2>/dev/null)" ]; then return 0; fi
        sleep 1
    done
    echo "local-cluster: jobs $jobs still queued or running after ${timeout} s" >&2
    squeue >&2 || true
    return 1
}

local_cluster_state() {
    scontrol -o show job "$1" | tr ' ' '\n' | sed -n 's/^JobState=//p' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

local_cluster_stop() {
    local pid i
    for pid in "${LOCAL_CLUSTER_PIDS[@]}"; do
        [ -n "$pid" ] && local_cluster_sudo kill "$pid" 2>/dev/null || true
    done
    for pid in "${LOCAL_CLUSTER_PIDS[@]}"; do
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && local_cluster_sudo kill -9 "$pid" 2>/dev/null || true
    done
    LOCAL_CLUSTER_PIDS=()
}
