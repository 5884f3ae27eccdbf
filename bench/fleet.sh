#!/usr/bin/env bash
# Fleet benchmark: N real OpenSSH servers on loopback addresses, one deploy-shaped playbook
# (bench/fleet/deploy.yml) run by yiqiu-play and by ansible-playbook, plus the SSH floor
# (bench/ssh_floor.rs: one connection per host, the same number of trivial exec round trips).
#
#   bench/fleet.sh [N] [--yiqiu-only] [--no-build]
#
# N defaults to 30. --yiqiu-only skips ansible-playbook and the floor (the 500-host peak RSS
# check). Environment: FLEET_PORT (2222), FORKS (10), FLOOR_EXECS (19 = the task executions
# of deploy.yml per host), KEEP=1 keeps the temp dir, YIQIU=<path> uses that binary,
# ANSIBLE_PLAYBOOK=<path> uses that ansible-playbook.
#
# Timing misses print MISS and never fail the script; a failed run or PLAY RECAPs that differ
# make it exit 1.
set -uo pipefail

N=30
YIQIU_ONLY=0
BUILD=1
for arg in "$@"; do
    case "$arg" in
        --yiqiu-only) YIQIU_ONLY=1 ;;
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *[!0-9]*|'') echo "fleet.sh: unknown argument: $arg" >&2; exit 2 ;;
        *) N=$arg ;;
    esac
done
if (( N < 1 || N > 2000 )); then echo "fleet.sh: N must be 1..2000" >&2; exit 2; fi

PORT=${FLEET_PORT:-2222}
FORKS=${FORKS:-10}
FLOOR_EXECS=${FLOOR_EXECS:-19}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PLAYBOOK="$HERE/fleet/deploy.yml"
export LC_ALL=C.UTF-8

say() { printf '%s\n' "$*"; }
die() { printf 'fleet.sh: %s\n' "$*" >&2; exit 1; }

# --- tools -----------------------------------------------------------------------------------
need_apt=()
[[ -x /usr/sbin/sshd ]] || need_apt+=(openssh-server)
[[ -x /usr/bin/time ]] || need_apt+=(time)
command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
if (( ${#need_apt[@]} )); then
    [[ $(id -u) -eq 0 ]] || die "missing ${need_apt[*]}; install them (apt-get install ${need_apt[*]})"
    say "installing ${need_apt[*]} ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null \
        || die "apt-get install ${need_apt[*]} failed"
fi

find_ansible() {
    if [[ -n ${ANSIBLE_PLAYBOOK:-} ]]; then echo "$ANSIBLE_PLAYBOOK"; return; fi
    if command -v ansible-playbook >/dev/null; then command -v ansible-playbook; return; fi
    for p in /opt/ansible/bin/ansible-playbook "$HERE/.venv/bin/ansible-playbook"; do
        [[ -x $p ]] && { echo "$p"; return; }
    done
    say "ansible-playbook not found; installing ansible-core==2.19.14 into bench/.venv ..." >&2
    python3 -m venv "$HERE/.venv" && "$HERE/.venv/bin/pip" install -q ansible-core==2.19.14 >&2 \
        && echo "$HERE/.venv/bin/ansible-playbook"
}

if (( BUILD )); then
    say "building yiqiu-play (release) and the ssh_floor probe ..."
    (cd "$REPO" && cargo build --release -q) || die "cargo build --release failed"
    if (( ! YIQIU_ONLY )); then
        (cd "$REPO" && cargo bench -q --bench ssh_floor --no-run 2>/dev/null) || say "warning: ssh_floor did not build"
    fi
fi
YIQIU=${YIQIU:-$REPO/target/release/yiqiu-play}
[[ -x $YIQIU ]] || die "$YIQIU not found (build with cargo build --release)"
ANSIBLE=""
if (( ! YIQIU_ONLY )); then
    ANSIBLE=$(find_ansible) || die "could not find or install ansible-playbook"
fi

# --- the fleet -------------------------------------------------------------------------------
T=$(mktemp -d /tmp/yiqiu-fleet.XXXXXX)
SSHD_PIDS=()
cleanup() {
    # Only the sshd daemons this script started, by pid.
    for pid in "${SSHD_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    if [[ ${KEEP:-0} == 1 ]]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


if [[ $(id -u) -eq 0 ]]; then
    LOGIN=yiqiu
    if ! id "$LOGIN" >/dev/null 2>&1; then
        useradd -m -s /bin/bash "$LOGIN" || die "useradd $LOGIN failed"
    fi
    # '!' (locked) makes sshd refuse even key logins without PAM; '*' only disables passwords.
    usermod -p '*' "$LOGIN"
    home=$(getent passwd "$LOGIN" | cut -d: -f6)
    # A clean shell: bash reads ~/.bashrc for commands run over ssh.
    printf '# yiqiu fleet bench: intentionally empty\n' >"$home/.bashrc"
    printf '# yiqiu fleet bench: intentionally empty\n' >"$home/.profile"
    chown "$LOGIN:" "$home/.bashrc" "$home/.profile"
    mkdir -p /run/sshd && chmod 0755 /run/sshd
else
    LOGIN=$(id -un)
fi

ssh-keygen -q -t ed25519 -N '' -C fleet-host -f "$T/host_ed25519" || die "ssh-keygen failed"
ssh-keygen -q -t ed25519 -N '' -C fleet-user -f "$T/id_ed25519" || die "ssh-keygen failed"
# sshd reads authorized_keys as the login user, so it (and the way to it) must be readable.
chmod 0755 "$T"
cp "$T/id_ed25519.pub" "$T/authorized_keys" && chmod 0644 "$T/authorized_keys"

cat >"$T/sshd_config" <<EOF
Port $PORT
HostKey $T/host_ed25519
AuthorizedKeysFile $T/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers $LOGIN
UseDNS no
MaxStartups 1000:30:2000
MaxSessions 100
LogLevel ERROR
Subsystem sftp internal-sftp
EOF

# shellcheck source=lib/fleet_up.sh
. "$HERE/lib/fleet_up.sh"
fleet_up
HOSTS=("${FLEET_ADDRS[@]}")
inv="$T/inventory.ini"
say "fleet up: $N servers"

# --- runs ------------------------------------------------------------------------------------
ms_now() { date +%s%N; }
recap() { awk '/^PLAY RECAP/{r=1; next} r && NF' "$1" | sed 's/[[:space:]]\+/ /g; s/ $//' | sort; }
peak_kb() { awk -F': ' '/Maximum resident set size/{print $2}' "$1"; }

# run NAME CMD...: fresh target tree, wall time in ms into $NAME_ms, output in $T/NAME.out.
run() {
    local name=$1; shift
    rm -rf /tmp/yiqiu-bench
    # The shared parent exists before the run, as on real hosts where nothing else races to
    # create it; only the per-host trees below it are the playbook's to make.
    install -d -m 0755 -o "$LOGIN" /tmp/yiqiu-bench
    local t0 t1 rc
    t0=$(ms_now)
    /usr/bin/time -v -o "$T/$name.time" "$@" >"$T/$name.out" 2>&1
    rc=$?
    t1=$(ms_now)
    printf -v "${name}_ms" '%d' $(( (t1 - t0) / 1000000 ))
    printf -v "${name}_rc" '%d' "$rc"
    printf -v "${name}_kb" '%s' "$(peak_kb "$T/$name.time")"
    return $rc
}

FAILED=0
yiqiu_ok=0
say ""
say "== yiqiu-play ($N hosts, forks $FORKS)"
if HOME="$T/home" run yiqiu "$YIQIU" -i "$inv" -f "$FORKS" "$PLAYBOOK"; then
    yiqiu_ok=1
    say "wall ${yiqiu_ms} ms, peak RSS $(( yiqiu_kb / 1024 )) MB"
else
    FAILED=1
    say "yiqiu-play FAILED (exit $yiqiu_rc) after ${yiqiu_ms} ms; last lines:"
    tail -n 8 "$T/yiqiu.out" | sed 's/^/  | /'
fi

if (( YIQIU_ONLY )); then
    if (( yiqiu_ok )); then
        mb=$(( yiqiu_kb / 1024 ))
        if (( mb < 100 )); then v=PASS; else v=MISS; fi
        say "goal: peak RSS < 100 MB at $N hosts: $mb MB  $v"
    fi
    exit $FAILED
fi

say ""
say "== ansible-playbook ($N hosts, forks $FORKS, pipelining)"
ansible_ok=0
if ANSIBLE_PIPELINING=1 ANSIBLE_FORKS="$FORKS" ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_NOCOLOR=1 \
    ANSIBLE_RETRY_FILES_ENABLED=0 \
    run ansible "$ANSIBLE" -i "$inv" -f "$FORKS" "$PLAYBOOK"; then
    ansible_ok=1
    say "wall ${ansible_ms} ms, peak RSS (largest process) $(( ansible_kb / 1024 )) MB"
else
    FAILED=1
    say "ansible-playbook FAILED (exit $ansible_rc); last lines:"
    tail -n 8 "$T/ansible.out" | sed 's/^/  | /'
fi

say ""
say "== floor: 1 SSH connection per host, $FLOOR_EXECS exec round trips each, $FORKS threads"
floor_ms=""
floor_out=$(cd "$REPO" && FLOOR_HOSTS=$(IFS=,; echo "${HOSTS[*]}") FLOOR_PORT=$PORT FLOOR_USER=$LOGIN \
    FLOOR_KEY="$T/id_ed25519" FLOOR_KNOWN_HOSTS="$T/known_hosts" FLOOR_EXECS=$FLOOR_EXECS \
    FLOOR_FORKS=$FORKS cargo bench -q --bench ssh_floor 2>&1)
if [[ $floor_out =~ floor_ms=([0-9]+) ]]; then
    floor_ms=${BASH_REMATCH[1]}
    say "wall ${floor_ms} ms ($(grep -o 'connect_ms_avg=.*' <<<"$floor_out"))"
else
    say "floor probe failed:"; printf '%s\n' "$floor_out" | tail -n 5 | sed 's/^/  | /'
fi

say ""
say "== summary ($N hosts)"
if (( yiqiu_ok && ansible_ok )); then
    if diff <(recap "$T/yiqiu.out") <(recap "$T/ansible.out") >"$T/recap.diff"; then
        say "PLAY RECAP: identical ($(recap "$T/ansible.out" | head -n 1 | cut -d' ' -f3-))"
    else
        FAILED=1
        say "PLAY RECAP: DIFFERENT (< yiqiu-play, > ansible-playbook):"
        head -n 10 "$T/recap.diff" | sed 's/^/  /'
    fi
elif (( ansible_ok )); then
    say "ansible-playbook recap: $(recap "$T/ansible.out" | head -n 1 | cut -d' ' -f3-) on each of $(recap "$T/ansible.out" | wc -l) hosts"
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }'; }
printf '%-18s %10s %12s\n' "" "wall ms" "peak RSS MB"
(( yiqiu_ok )) && printf '%-18s %10s %12s\n' yiqiu-play "$yiqiu_ms" "$(( yiqiu_kb / 1024 ))"
(( ansible_ok )) && printf '%-18s %10s %12s\n' ansible-playbook "$ansible_ms" "$(( ansible_kb / 1024 ))"
[[ -n $floor_ms ]] && printf '%-18s %10s %12s\n' "ssh floor" "$floor_ms" "-"
if (( yiqiu_ok && ansible_ok )); then
    r=$(ratio "$ansible_ms" "$yiqiu_ms")
    v=$(awk -v r="$r" 'BEGIN { print (r + 0 >= 40) ? "PASS" : "MISS" }')
    say "goal: >= 40x faster than ansible-playbook: ${r}x  $v"
fi
if (( yiqiu_ok )) && [[ -n $floor_ms ]]; then
    r=$(ratio "$yiqiu_ms" "$floor_ms")
    v=$(awk -v r="$r" 'BEGIN { print (r + 0 <= 1.5) ? "PASS" : "MISS" }')
    say "goal: within 1.5x of the floor: ${r}x  $v"
fi
(( yiqiu_ok )) || say "yiqiu-play did not complete: no yiqiu figures this time"
exit $FAILED
