#!/usr/bin/env bash
# Kubernetes benchmark: yiqiu-play against ansible-playbook + kubernetes.core on the real
# test cluster (tests/k8s/cluster.sh: Kubernetes 1.20 control plane + node stand-in).
#
#   bench/k8s.sh [--no-build] [--no-ssh]
#
#  (a) bench/k8s/site.yml, the whole deploy-shaped playbook: namespace, hostPath PV + PVC
#      bound to it, ConfigMap, two Deployments (template, wait) + Services (src), k8s_info
#      with until, scale to 5 (wait), rollout restart (wait), a Job (wait_condition
#      Complete), then everything absent (namespace last, with wait). yiqiu-play runs it with
#      -e yiqiu_native_rollout=true (our k8s_rollout); ansible-playbook patches the
#      restartedAt annotation instead (kubernetes.core has no rollout module).
#  (b) bench/k8s/configmaps.yml, the per-task cost without waits: 20 ConfigMap k8s tasks,
#      created then unchanged, minus a `--tags ns` baseline run (1 task), divided by 20.
#  (c) site.yml again in seed 002's shape: the play's host is the k8s master, reached over
#      SSH (a real sshd on 127.0.9.1), and the kubeconfig is that account's ~/.kube/config.
#      yiqiu-play reads it over the SSH session and reaches the API server through the
#      session's tunnel; ansible-playbook runs kubernetes.core on the host with the venv's
#      Python (the host is this machine). Needs root (sshd, the test account); --no-ssh skips.
#
# The summary also prints the cluster's share: yiqiu-play's wall time in (a) minus its
# per-task overhead from (b) times the tasks it ran. That is what the waits cost on this
# cluster whatever the client, so ansible-playbook's time divided by it is the highest ratio
# any client could reach here.
#
# Environment: RUNS (1) runs of each measurement per tool (the median is printed), PARTS
# (abc) the parts to run,
# YIQIU_PLAY or YIQIU=<path> uses that yiqiu-play (default target/release/yiqiu-play, built
# with `cargo build --release --locked` if missing), ANSIBLE_VENV=<dir> uses that venv
# (default /opt/ansible-k8s-venv if usable, else ~/.cache/yiqiu-play/bench-venv-k8s-<ver>,
# created with pip), K8S_DIR (/tmp/yiqiu-k8s) the cluster state dir, KEEP=1 keeps the temp dir.
#
# Every run gets its own namespace (and PV name) with this script's pid in it. Timing goals
# print PASS/MISS and never fail the script; a failed run or PLAY RECAPs that differ make
# it exit 1.
set -uo pipefail

BUILD=1
SSH_SHAPE=1
for arg in "$@"; do
    case "$arg" in
        --no-build) BUILD=0 ;;
        --no-ssh) SSH_SHAPE=0 ;;
        -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
        *) echo "k8s.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

RUNS=${RUNS:-1}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "k8s.sh: RUNS must be a positive integer" >&2; exit 2; }
ANSIBLE_CORE=2.19.14
TASKS=20            # config map tasks in configmaps.yml
GOAL_TASK_MS=20     # yiqiu-play per-task overhead
GOAL_RATIO=10       # whole playbook, ansible-playbook / yiqiu-play
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
K8S_DIR=${K8S_DIR:-/tmp/yiqiu-k8s}
CACHE=${YIQIU_CACHE:-$HOME/.cache/yiqiu-play}
export LC_ALL=C.UTF-8 ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0

say() { printf '%s\n' "$*"; }
die() { printf 'k8s.sh: %s\n' "$*" >&2; exit 1; }

# --- yiqiu-play ------------------------------------------------------------------------------
YIQIU=${YIQIU_PLAY:-${YIQIU:-$REPO/target/release/yiqiu-play}}
if [[ ! -x $YIQIU && $YIQIU == "$REPO/target/release/yiqiu-play" ]] && (( BUILD )); then
    say "building yiqiu-play (release) ..."
    (cd "$REPO" && cargo build --release --locked -q --bin yiqiu-play) || die "cargo build --release failed"
fi
[[ -x $YIQIU ]] || die "$YIQIU not found (cargo build --release --locked)"
case "$YIQIU" in */debug/*) say "note: $YIQIU is a debug build; its figures are not representative" ;; esac

# --- ansible-playbook + kubernetes.core ------------------------------------------------------
# kubernetes.core's MANIFEST.json in the venv's site-packages (ansible_collections.* are
# namespace packages: no __file__ to ask).
kc_manifest() { compgen -G "$1/lib/python3*/site-packages/ansible_collections/kubernetes/core/MANIFEST.json" | head -n 1; }
venv_ok() {
    [[ -x $1/bin/ansible-playbook && -x $1/bin/python ]] \
        && "$1/bin/python" -c 'import kubernetes' 2>/dev/null \
        && [[ -n $(kc_manifest "$1") ]]
}
if [[ -n ${ANSIBLE_VENV:-} ]]; then
    VENV=$ANSIBLE_VENV
elif venv_ok /opt/ansible-k8s-venv; then
    VENV=/opt/ansible-k8s-venv
else
    VENV=$CACHE/bench-venv-k8s-ansible-core-$ANSIBLE_CORE
fi
if ! venv_ok "$VENV"; then
    say "creating $VENV (ansible-core==$ANSIBLE_CORE, ansible, kubernetes) ..."
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" \
        && "$VENV/bin/pip" install -q "ansible-core==$ANSIBLE_CORE" ansible kubernetes \
        || die "could not create the venv $VENV (python3-venv and network needed)"
    venv_ok "$VENV" || die "$VENV has no ansible-playbook, kubernetes.core or kubernetes client"
fi
ANSIBLE=$VENV/bin/ansible-playbook
ans_version=$("$ANSIBLE" --version 2>/dev/null | head -n 1)
kc_version=$("$VENV/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
    "$(kc_manifest "$VENV")" 2>/dev/null)

# --- the cluster -----------------------------------------------------------------------------
bash "$REPO/tests/k8s/cluster.sh" start "$K8S_DIR" >/dev/null || die "cluster.sh start $K8S_DIR failed"
eval "$(bash "$REPO/tests/k8s/cluster.sh" env "$K8S_DIR")" || die "cluster.sh env failed"
KUBECTL=$YIQIU_K8S_BIN/kubectl     # kubectl 1.20 from the cluster cache, not /usr/bin/kubectl
[[ -x $KUBECTL ]] || die "$KUBECTL not found"
"$KUBECTL" get --raw /readyz >/dev/null 2>&1 || die "the cluster in $K8S_DIR is not ready"

T=$(mktemp -d /tmp/yiqiu-k8s-bench.XXXXXX)
BENCH_T=$T      # T is pointed elsewhere for a moment by ssh_up
NAMESPACES=()
PVS=()
SSHD_PIDS=()
SSH_KUBECONFIG=""
cleanup() {
    # Whatever a failed run left behind: only this script's namespaces and PVs.
    local ns pv
    for ns in "${NAMESPACES[@]}"; do
        "$KUBECTL" delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1
    done
    for pv in "${PVS[@]}"; do
        "$KUBECTL" delete pv "$pv" --ignore-not-found --wait=false >/dev/null 2>&1
    done
    for pid in "${SSHD_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    [[ -n $SSH_KUBECONFIG ]] && rm -f "$SSH_KUBECONFIG"
    if [[ ${KEEP:-0} == 1 ]]; then say "kept $BENCH_T"; else rm -rf "$BENCH_T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

INV=$T/inventory.ini
printf 'localhost ansible_connection=local ansible_python_interpreter=%s\n' "$VENV/bin/python" >"$INV"

say "yiqiu-play:       $YIQIU"
say "ansible-playbook: $ANSIBLE ($ans_version, kubernetes.core ${kc_version:-?})"
say "cluster:          $YIQIU_K8S_SERVER ($("$KUBECTL" version --short 2>/dev/null | sed -n 's/^Server Version: //p'))"
say "runs:             $RUNS"

# --- the SSH host of (c) ---------------------------------------------------------------------
# host_python: the SSH host's Python for kubernetes.core, as a k8s master would have it: the
# system python3 with the `kubernetes` client in a venv the test account can read (the
# controller's venv may sit below root's private home).
HOST_VENV=${K8S_HOST_VENV:-/var/cache/yiqiu-play/k8s-host-venv}
host_python() {
    [[ -x $HOST_VENV/bin/python ]] && "$HOST_VENV/bin/python" -c 'import kubernetes' 2>/dev/null && return 0
    say "  creating $HOST_VENV (/usr/bin/python3 + kubernetes) ..."
    mkdir -p "$(dirname "$HOST_VENV")" \
        && /usr/bin/python3 -m venv "$HOST_VENV" \
        && "$HOST_VENV/bin/pip" install -q kubernetes \
        && chmod -R a+rX "$(dirname "$HOST_VENV")" \
        || { say "  could not create $HOST_VENV (python3-venv and network needed)"; return 1; }
}

# ssh_up: account yiqiu (clean shell rc) with the cluster's kubeconfig as ~/.kube/config, one
# sshd on 127.0.1.1, an inventory ($SSH_INV) naming it `master`, and ~/.ssh/config with our
# known_hosts in both tools' HOMEs.
ssh_up() {
    local login=yiqiu home port=${K8S_SSH_PORT:-2232} d=$T/ssh saved_t=$T tool
    local N=1 PORT=$port LOGIN=$login
    [[ -x /usr/sbin/sshd ]] || { say "  /usr/sbin/sshd missing (apt-get install openssh-server)"; return 1; }
    id "$login" >/dev/null 2>&1 || useradd -m -s /bin/bash "$login" || return 1
    usermod -p '*' "$login"
    home=$(getent passwd "$login" | cut -d: -f6)
    printf '# yiqiu k8s bench: intentionally empty\n' | tee "$home/.bashrc" >"$home/.profile"
    chown "$login:" "$home/.bashrc" "$home/.profile"
    install -d -m 0700 -o "$login" -g "$login" "$home/.kube"
    SSH_KUBECONFIG=$home/.kube/config
    install -m 0600 -o "$login" -g "$login" "$KUBECONFIG" "$SSH_KUBECONFIG" || return 1
    # kubernetes.core reads `src` on the host when the connection is not local: the master
    # keeps its manifests (both tools read this copy).
    install -m 0644 -o "$login" -g "$login" "$HERE/k8s/files/services.yml" "$home/services.yml" || return 1
    # The account's sshd reads the keys below $T.
    mkdir -p /run/sshd "$d" && chmod 0755 /run/sshd "$T" "$d"
    ssh-keygen -q -t ed25519 -N '' -C k8s-bench-host -f "$d/host_ed25519" || return 1
    ssh-keygen -q -t ed25519 -N '' -C k8s-bench-user -f "$d/id_ed25519" || return 1
    cp "$d/id_ed25519.pub" "$d/authorized_keys" && chmod 0644 "$d/authorized_keys"
    printf '%s\n' "Port $port" "HostKey $d/host_ed25519" "AuthorizedKeysFile $d/authorized_keys" \
        "PubkeyAuthentication yes" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
        "UsePAM no" "StrictModes no" "AllowUsers $login" "UseDNS no" "LogLevel ERROR" \
        "Subsystem sftp internal-sftp" >"$d/sshd_config"
    # fleet_up works in $T: point it at the SSH host's own directory for the call.
    T=$d
    . "$REPO/bench/lib/fleet_up.sh"
    fleet_up
    T=$saved_t
    host_python || return 1
    SSH_INV=$d/master.ini
    printf 'master ansible_host=%s ansible_port=%s ansible_user=%s ansible_ssh_private_key_file=%s ansible_python_interpreter=%s ansible_ssh_common_args="-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"\n' \
        "${FLEET_ADDRS[0]}" "$port" "$login" "$d/id_ed25519" "$HOST_VENV/bin/python" "$d/known_hosts" >"$SSH_INV"
    for tool in yq ans; do
        mkdir -p "$T/home-$tool/.ssh" && cp "$d/home/.ssh/config" "$T/home-$tool/.ssh/config"
    done
}

# --- helpers ---------------------------------------------------------------------------------
part() { [[ ${PARTS:-abc} == *$1* ]]; }
ns_now() { date +%s%N; }
recap() { awk '/^PLAY RECAP/{r=1; next} r && NF' "$1" | sed 's/[[:space:]]\+/ /g; s/ $//' | sort; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
per_task() { awk -v a="$1" -v b="$2" -v n="$TASKS" 'BEGIN { printf "%.1f", (a - b) / n }'; }
FAILED=0

# run TOOL NAME ARGS...: runs the tool (yq = yiqiu-play, ans = ansible-playbook) with the
# inventory; output in $T/NAME.out, wall time in ms in $T/NAME.ms. Fails loudly.
run() {
    local tool=$1 name=$2 t0 t1 rc cmd
    shift 2
    if [[ $tool == yq ]]; then cmd=("$YIQIU"); else cmd=("$ANSIBLE"); fi
    t0=$(ns_now)
    (cd "$T" && HOME="$T/home-$tool" "${cmd[@]}" -i "$INV" "$@") >"$T/$name.out" 2>&1
    rc=$?
    t1=$(ns_now)
    echo $(( (t1 - t0) / 1000000 )) >"$T/$name.ms"
    if (( rc != 0 )); then
        FAILED=1
        say "  $name: FAILED (exit $rc) after $(cat "$T/$name.ms") ms; last lines:"
        tail -n 12 "$T/$name.out" | sed 's/^/  | /'
        return 1
    fi
    return 0
}

# site_runs NAME INVENTORY YQ_TIMES ANS_TIMES [ARGS...]: RUNS runs of site.yml with each tool,
# each in a namespace of its own; wall times appended to the arrays named YQ_TIMES/ANS_TIMES.
site_runs() {
    local name=$1 inv=$2 i tool ns ms ok extra
    local -n yq_times=$3 ans_times=$4
    shift 4
    for i in $(seq 1 "$RUNS"); do
        ok=0
        for tool in yq ans; do
            ns=bench-k8s-$name-$tool-$$-$i
            NAMESPACES+=("$ns"); PVS+=("$ns-pv")
            extra=(-e "ns=$ns" "$@")
            [[ $tool == yq ]] && extra+=(-e yiqiu_native_rollout=true)
            INV=$inv run "$tool" "$name-$tool-$i" "$HERE/k8s/site.yml" "${extra[@]}" || continue
            ok=$((ok + 1))
            ms=$(cat "$T/$name-$tool-$i.ms")
            if [[ $tool == yq ]]; then yq_times+=("$ms"); else ans_times+=("$ms"); fi
            say "  run $i $( [[ $tool == yq ]] && echo "yiqiu-play      " || echo "ansible-playbook" ): ${ms} ms  ($(recap "$T/$name-$tool-$i.out" | cut -d' ' -f3-))"
        done
        if (( ok == 2 )); then
            same_recap "$name-yq-$i" "$name-ans-$i" && say "  run $i PLAY RECAP: identical"
        fi
    done
}

# same_recap NAME_A NAME_B: both outputs end with the same PLAY RECAP.
same_recap() {
    if diff <(recap "$T/$1.out") <(recap "$T/$2.out") >"$T/$1-$2.diff"; then
        return 0
    fi
    FAILED=1
    say "  PLAY RECAP DIFFERS ($1 <, $2 >):"
    sed 's/^/    /' "$T/$1-$2.diff"
    return 1
}

mkdir -p "$T/home-yq" "$T/home-ans"

whole_yq=() whole_ans=()
declare -A cm

# --- (a) the whole playbook ------------------------------------------------------------------
if part a; then
    say ""
    say "== (a) bench/k8s/site.yml, whole playbook with waits"
    site_runs site "$INV" whole_yq whole_ans
fi

# --- (b) per k8s task, no waits --------------------------------------------------------------
if part b; then
    say ""
    say "== (b) bench/k8s/configmaps.yml, $TASKS ConfigMap tasks without waits, minus a 1-task baseline"
    for i in $(seq 1 "$RUNS"); do
        for tool in yq ans; do
            ns=bench-k8s-cm-$tool-$$-$i
            NAMESPACES+=("$ns")
            pb=$HERE/k8s/configmaps.yml
            # 1. namespace only (created; not timed), 2. all (namespace unchanged + 20 created),
            # 3. all again (21 unchanged), 4. namespace only again (1 unchanged: the baseline).
            run "$tool" "cm-$tool-$i-setup" "$pb" -e "ns=$ns" --tags ns \
                && run "$tool" "cm-$tool-$i-create" "$pb" -e "ns=$ns" \
                && run "$tool" "cm-$tool-$i-unchanged" "$pb" -e "ns=$ns" \
                && run "$tool" "cm-$tool-$i-base" "$pb" -e "ns=$ns" --tags ns \
                || continue
            b=$(cat "$T/cm-$tool-$i-base.ms"); c=$(cat "$T/cm-$tool-$i-create.ms"); u=$(cat "$T/cm-$tool-$i-unchanged.ms")
            cm[$tool-base]+="$b "; cm[$tool-create]+="$c "; cm[$tool-unchanged]+="$u "
            say "  run $i $( [[ $tool == yq ]] && echo "yiqiu-play      " || echo "ansible-playbook" ): baseline ${b} ms, create ${c} ms, unchanged ${u} ms"
            "$KUBECTL" delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1
        done
        for step in create unchanged base; do
            [[ -f $T/cm-yq-$i-$step.out && -f $T/cm-ans-$i-$step.out ]] || continue
            same_recap "cm-yq-$i-$step" "cm-ans-$i-$step" \
                || say "  (run $i, $step)"
        done
    done
    # The expected recaps, so a silently skipped task cannot pass as fast.
    for tool in yq ans; do
        for i in $(seq 1 "$RUNS"); do
            [[ -f $T/cm-$tool-$i-create.out ]] || continue
            want="ok=$((TASKS + 1)) changed=$TASKS"
            grep -q "ok=$((TASKS + 1)) *changed=$TASKS " "$T/cm-$tool-$i-create.out" \
                || { FAILED=1; say "  cm-$tool-$i-create: recap is not $want"; }
            [[ -f $T/cm-$tool-$i-unchanged.out ]] && { grep -q "ok=$((TASKS + 1)) *changed=0 " "$T/cm-$tool-$i-unchanged.out" \
                || { FAILED=1; say "  cm-$tool-$i-unchanged: recap is not ok=$((TASKS + 1)) changed=0"; }; }
        done
    done
fi

# --- (c) seed 002's shape: the k8s master over SSH ------------------------------------------
ssh_yq=() ssh_ans=()
part c || SSH_SHAPE=0
if (( SSH_SHAPE )) && [[ $(id -u) -ne 0 ]]; then
    say ""
    say "== (c) skipped: the SSH shape needs root (sshd and the test account yiqiu)"
    SSH_SHAPE=0
fi
if (( SSH_SHAPE )); then
    say ""
    say "== (c) bench/k8s/site.yml on the k8s master over SSH (the kubeconfig only on that host)"
    ssh_up || die "could not start the SSH host"
    site_runs ssh "$SSH_INV" ssh_yq ssh_ans -e k8s_host=master
fi

# --- summary ---------------------------------------------------------------------------------
say ""
say "== summary (median of $RUNS run(s) each)"
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
w_yq=$(printf '%s\n' "${whole_yq[@]}" | grep . | median)
w_ans=$(printf '%s\n' "${whole_ans[@]}" | grep . | median)
pt=()
for tool in yq ans; do
    b=$(med "${cm[$tool-base]:-}"); c=$(med "${cm[$tool-create]:-}"); u=$(med "${cm[$tool-unchanged]:-}")
    if [[ -n $b && -n $c && -n $u ]]; then
        pt+=("$(per_task "$c" "$b")" "$(per_task "$u" "$b")" "$b")
    else
        pt+=("" "" "")
    fi
done
printf '%-34s %14s %18s %8s\n' "" yiqiu-play ansible-playbook ratio
printf '%-34s %14s %18s %8s\n' "whole playbook, wall ms" "${w_yq:--}" "${w_ans:--}" \
    "$( [[ -n $w_yq && -n $w_ans ]] && echo "$(ratio "$w_ans" "$w_yq")x" || echo -)"
if (( ${#ssh_yq[@]} && ${#ssh_ans[@]} )); then
    s_yq=$(printf '%s\n' "${ssh_yq[@]}" | median)
    s_ans=$(printf '%s\n' "${ssh_ans[@]}" | median)
    printf '%-34s %14s %18s %8s\n' "whole playbook over SSH, wall ms" "$s_yq" "$s_ans" "$(ratio "$s_ans" "$s_yq")x"
fi
printf '%-34s %14s %18s %8s\n' "per k8s task, create, ms" "${pt[0]:--}" "${pt[3]:--}" \
    "$( [[ -n ${pt[0]} && -n ${pt[3]} ]] && echo "$(ratio "${pt[3]}" "${pt[0]}")x" || echo -)"
printf '%-34s %14s %18s %8s\n' "per k8s task, unchanged, ms" "${pt[1]:--}" "${pt[4]:--}" \
    "$( [[ -n ${pt[1]} && -n ${pt[4]} ]] && echo "$(ratio "${pt[4]}" "${pt[1]}")x" || echo -)"
printf '%-34s %14s %18s %8s\n' "1-task baseline run, wall ms" "${pt[2]:--}" "${pt[5]:--}" \
    "$( [[ -n ${pt[2]} && -n ${pt[5]} ]] && echo "$(ratio "${pt[5]}" "${pt[2]}")x" || echo -)"
if [[ -n $w_yq && -n $w_ans ]]; then
    r=$(ratio "$w_ans" "$w_yq")
    v=$(awk -v r="$r" -v g="$GOAL_RATIO" 'BEGIN { print (r + 0 >= g) ? "PASS" : "MISS" }')
    say "goal: whole playbook >= ${GOAL_RATIO}x faster than ansible-playbook: ${r}x  $v"
fi
if [[ -n $w_yq && -n $w_ans && -n ${pt[0]} ]]; then
    # The tasks yiqiu-play ran in (a): ok= in its recap counts each task once.
    ran=$(recap "$T/site-yq-1.out" | sed -n 's/.* ok=\([0-9]*\).*/\1/p' | head -n 1)
    floor=$(awk -v w="$w_yq" -v t="${pt[0]}" -v n="${ran:-0}" 'BEGIN { printf "%.0f", w - t * n }')
    say "cluster share of (a): ${floor} ms (yiqiu-play's ${w_yq} ms minus ${ran:-0} tasks x ${pt[0]} ms);" \
        "no client can beat it here, so the highest reachable ratio is $(ratio "$w_ans" "$floor")x"
fi
if [[ -n ${s_yq:-} && -n ${s_ans:-} ]]; then
    r=$(ratio "$s_ans" "$s_yq")
    v=$(awk -v r="$r" -v g="$GOAL_RATIO" 'BEGIN { print (r + 0 >= g) ? "PASS" : "MISS" }')
    say "goal: whole playbook over SSH (seed 002's shape) >= ${GOAL_RATIO}x: ${r}x  $v"
fi
if [[ -n ${pt[0]} && -n ${pt[1]} ]]; then
    for k in 0:create 1:unchanged; do
        v=$(awk -v t="${pt[${k%%:*}]}" -v g="$GOAL_TASK_MS" 'BEGIN { print (t + 0 < g) ? "PASS" : "MISS" }')
        say "goal: yiqiu-play per-task overhead < ${GOAL_TASK_MS} ms (${k#*:}): ${pt[${k%%:*}]} ms  $v"
    done
fi
(( FAILED )) && say "FAILED: a run failed or the PLAY RECAPs differ (see above)"
exit $FAILED
