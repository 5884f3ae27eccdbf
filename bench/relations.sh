#!/usr/bin/env bash
# Relations benchmark (issue 10): 30 real sshd hosts, memcached on 24 units, twemproxy on 6.
# After a first converge, one memcached unit is added; the run that brings every proxy's pool
# up to date is timed for yiqiu-play (yiqiu_services: the relation hooks fire on the new unit
# and the proxies only) and for the plain-Ansible way (bench/relations/ansible.yml: the pool
# templated from groups + hostvars on every proxy, nutcracker restarted by a handler), on the
# same hosts (each side on its own ports). Both must end with the same pool (compared by
# address and port offset); the script prints both times, the ratio, and which units fired.
#
#   bench/relations.sh [--no-build]
#
# Environment: FLEET_PORT (2223), KEEP=1 keeps the temp dir, YIQIU=<path>, ANSIBLE_PLAYBOOK=<path>.
# A missed goal prints MISS and never fails the script; a failed run or different pools exit 1.
set -uo pipefail

N=30
BUILD=1
for arg in "$@"; do
    case "$arg" in
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "relations.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done
PORT=${FLEET_PORT:-2223}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
export LC_ALL=C.UTF-8
say() { printf '%s\n' "$*"; }
die() { printf 'relations.sh: %s\n' "$*" >&2; exit 1; }

for bin in /usr/sbin/sshd /usr/bin/memcached /usr/sbin/nutcracker; do
    [[ -x $bin ]] || die "$bin missing: apt-get install openssh-server memcached nutcracker"
done
[[ $(id -u) -eq 0 ]] || die "run as root (it starts sshd for the login user)"
if (( BUILD )); then
    say "building yiqiu-play (release) ..."
    (cd "$REPO" && cargo build --release -q) || die "cargo build --release failed"
fi
YIQIU=${YIQIU:-$REPO/target/release/yiqiu-play}
ANSIBLE=${ANSIBLE_PLAYBOOK:-}
if [[ -z $ANSIBLE ]]; then
    for p in "$(command -v ansible-playbook)" /opt/ansible-bench/bin/ansible-playbook "$HERE/.venv/bin/ansible-playbook"; do
        [[ -n $p && -x $p ]] && { ANSIBLE=$p; break; }
    done
fi
if [[ -z $ANSIBLE ]]; then
    say "installing ansible-core==2.19.14 into bench/.venv ..."
    python3 -m venv "$HERE/.venv" && "$HERE/.venv/bin/pip" install -q ansible-core==2.19.14 \
        || die "pip install ansible-core failed"
    ANSIBLE=$HERE/.venv/bin/ansible-playbook
fi

T=$(mktemp -d /tmp/yiqiu-relations.XXXXXX)
SSHD_PIDS=()
cleanup() {
    find "$T" -name '*pid' -type f 2>/dev/null | while read -r f; do kill "$(cat "$f")" 2>/dev/null; done
    for pid in "${SSHD_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    if [[ ${KEEP:-0} == 1 ]]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LOGIN=yiqiu
id "$LOGIN" >/dev/null 2>&1 || useradd -m -s /bin/sh "$LOGIN" || die "useradd $LOGIN failed"
usermod -p '*' "$LOGIN"
home=$(getent passwd "$LOGIN" | cut -d: -f6)
rm -f "$home/.bashrc" "$home/.profile" "$home/.bash_logout"
mkdir -p /run/sshd && chmod 0755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -C rel-host -f "$T/host_ed25519" || die "ssh-keygen failed"
ssh-keygen -q -t ed25519 -N '' -C rel-user -f "$T/id_ed25519" || die "ssh-keygen failed"
chmod 0755 "$T"
cp "$T/id_ed25519.pub" "$T/authorized_keys" && chmod 0644 "$T/authorized_keys"
cat >"$T/sshd_config" <<CONF
Port $PORT
HostKey $T/host_ed25519
AuthorizedKeysFile $T/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowUsers $LOGIN
UseDNS no
MaxStartups 1000:30:2000
MaxSessions 100
LogLevel ERROR
Subsystem sftp internal-sftp
CONF
# shellcheck source=lib/fleet_up.sh
. "$HERE/lib/fleet_up.sh"
fleet_up
install -d -m 0755 -o "$LOGIN" "$T/yq" "$T/ans"

# inventory EXTRA_UNIT: 24 memcache hosts (h0001 gets a 2nd unit when EXTRA_UNIT=1), 6 proxies.
inventory() {
    cat "$T/inventory.ini"
    say "ans_root=$T/ans"
    say "[memcache]"
    for i in $(seq 1 24); do
        h=$(printf 'h%04d' "$i")
        if [[ $1 == 1 && $i == 1 ]]; then
            say "$h yiqiu_root=$T/yq/$h ports=\"[21311, 21312]\" ans_ports=\"[21411, 21412]\""
        else
            say "$h yiqiu_root=$T/yq/$h"
        fi
    done
    say "[memcache:vars]"
    say "ports=[21311]"
    say "ans_ports=[21411]"
    say "[twemproxy]"
    for i in $(seq 25 30); do h=$(printf 'h%04d' "$i"); say "$h yiqiu_root=$T/yq/$h"; done
    say "[twemproxy:vars]"
    say "ports=[22321]"
    say "ans_proxy_port=22421"
}
ms_now() { date +%s%N; }
timed() { # NAME CMD...
    local name=$1; shift
    local t0; t0=$(ms_now)
    "$@" >"$T/$name.out" 2>&1
    local rc=$?
    printf -v "${name}_ms" '%d' $(( ($(ms_now) - t0) / 1000000 ))
    if (( rc != 0 )); then
        say "$name FAILED (exit $rc):"; tail -n 15 "$T/$name.out" | sed 's/^/  | /'; exit 1
    fi
}
yiqiu() { HOME="$T/home" YIQIU_LOG_TIME=1 YIQIU_LOG=${YIQIU_LOG:-warn} "$YIQIU" -i "$T/inv.ini" -f 10 "$HERE/relations/yiqiu.yml"; }
ansible() {
    ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
        "$ANSIBLE" -i "$T/inv.ini" -f 10 "$HERE/relations/ansible.yml"
}
log_lines() { # one "unit lines" row per hooks.log
    find "$T/yq" -name hooks.log | sort | while read -r f; do
        printf '%s %s\n' "$(basename "$(dirname "$f")")@$(basename "$(dirname "$(dirname "$f")")")" "$(wc -l <"$f")"
    done
}
# The servers of a pool file as address:(port - base), sorted.
pool() { sed -n 's/^ *- \([0-9.]*\):\([0-9]*\):1$/\1 \2/p' "$1" | awk -v b="$2" '{print $1":"($2-b)}' | sort; }

inventory 0 >"$T/inv.ini"
say "first converge (not timed) ..."
timed yiqiu_first yiqiu
timed ansible_first ansible
log_lines >"$T/hooks.before"

inventory 1 >"$T/inv.ini"
say ""
say "== one memcached unit added: converge every proxy"
timed yiqiu_add yiqiu
timed ansible_add ansible
log_lines >"$T/hooks.after"
timed yiqiu_noop yiqiu
log_lines >"$T/hooks.noop"

FAILED=0
for i in $(seq 25 30); do
    h=$(printf 'h%04d' "$i")
    ours=$(pool "$T/yq/$h/twemproxy_22321/nutcracker.yml" 21311)
    theirs=$(pool "$T/ans/$h/twemproxy_22421/nutcracker.yml" 21411)
    n=$(printf '%s\n' "$ours" | grep -c .)
    if [[ $ours != "$theirs" || $n != 25 ]]; then
        FAILED=1; say "pool of $h differs (ours $n servers):"; diff <(echo "$ours") <(echo "$theirs") | head
    fi
done
fired=$(diff "$T/hooks.before" "$T/hooks.after" | sed -n 's/^> \([^ ]*\) .*/\1/p' | sort)
say "units that fired hooks: $(echo "$fired" | grep -c .) ($(echo "$fired" | tr '\n' ' '))"
others=$(echo "$fired" | grep -v -e '^twemproxy_' -e '^memcache_21312@h0001$' | grep -c .)
(( FAILED )) || say "pools: the same 25 servers on all 6 proxies, both ways"
ratio=$(awk -v a="$ansible_add_ms" -v y="$yiqiu_add_ms" 'BEGIN{printf "%.1f", a / (y > 0 ? y : 1)}')
say "yiqiu-play ${yiqiu_add_ms} ms, ansible-playbook ${ansible_add_ms} ms: ${ratio}x"
v=MISS; awk -v r="$ratio" 'BEGIN{exit !(r >= 20)}' && v=PASS
say "goal: >= 20x faster: ${ratio}x  $v"
v=MISS; (( others == 0 )) && [[ $(echo "$fired" | grep -c .) == 7 ]] && v=PASS
say "goal: hooks only on the 6 proxies and the new unit: $v"
if cmp -s "$T/hooks.after" "$T/hooks.noop"; then noop=none; else noop=SOME; FAILED=1; fi
say "an unchanged run: ${yiqiu_noop_ms} ms, hooks fired: $noop"
exit $FAILED
