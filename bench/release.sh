#!/usr/bin/env bash
# Component release benchmark (issue 4):
#  (a) pack: `yiqiu-release pack` of a PACK_MB directory of mixed files (many small + a few
#      large) versus `tar czf` then `sha256sum` run one after the other. Goal: at least as fast.
#  (b) deploy: a PKG_MB package to HOSTS real sshd servers, a component_deploy playbook run by
#      yiqiu-play versus ansible-playbook doing copy + unarchive + file state=link (FORKS each).
#      Goal: 10x.
#
#   bench/release.sh [--pack-only | --deploy-only] [--no-build]
#
# Environment: PACK_MB (1024), PKG_MB (200), HOSTS (30), FORKS (10), BENCH_PORT (2322; not
# fleet.sh's port, so both can run), KEEP=1 keeps the temp dirs, YIQIU / YIQIU_RELEASE /
# ANSIBLE_PLAYBOOK=<path> pick the binaries. Runs as root (starts sshd for user `yiqiu`) or as a
# user who can run sshd on a high port (then logs in as itself).
#
# Timing misses print MISS and never fail the script; a failed run makes it exit 1.
set -uo pipefail

DO_PACK=1
DO_DEPLOY=1
BUILD=1
for arg in "$@"; do
    case "$arg" in
        --pack-only) DO_DEPLOY=0 ;;
        --deploy-only) DO_PACK=0 ;;
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "release.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

PACK_MB=${PACK_MB:-1024}
PKG_MB=${PKG_MB:-200}
N=${HOSTS:-30}
FORKS=${FORKS:-10}
PORT=${BENCH_PORT:-2322}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
export LC_ALL=C.UTF-8

say() { printf '%s\n' "$*"; }
die() { printf 'release.sh: %s\n' "$*" >&2; exit 1; }
ms_now() { date +%s%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mbps() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.1f", b / 1048576 / (ms / 1000); else print "n/a" }'; }

if (( BUILD )); then
    say "building yiqiu-play and yiqiu-release (release) ..."
    (cd "$REPO" && cargo build --release -q --bin yiqiu-play --bin yiqiu-release) \
        || die "cargo build --release failed"
fi
YIQIU=${YIQIU:-$REPO/target/release/yiqiu-play}
YREL=${YIQIU_RELEASE:-$REPO/target/release/yiqiu-release}
[[ -x $YIQIU && -x $YREL ]] || die "$YIQIU or $YREL not found (cargo build --release)"

T=$(mktemp -d /tmp/yiqiu-release-bench.XXXXXX)
SSHD_PIDS=()
cleanup() {
    # Only the sshd daemons this script started, by pid.
    for pid in "${SSHD_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    if [[ ${KEEP:-0} == 1 ]]; then say "kept $T"; else rm -rf "$T" /tmp/yiqiu-rbench; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
FAILED=0

# Random bytes fast (/dev/urandom is slow for GBs): AES-CTR keystream from openssl if present.
rand_bytes() { # MB FILE
    if command -v openssl >/dev/null; then
        head -c "$(( $1 * 1048576 ))" /dev/zero \
            | openssl enc -aes-128-ctr -nosalt -pass pass:yiqiu-bench-$RANDOM 2>/dev/null >"$2"
    else
        head -c "$(( $1 * 1048576 ))" /dev/urandom >"$2"
    fi
}

# ---------------------------------------------------------------------------------------------
# (a) pack
if (( DO_PACK )); then
    SRC="$T/pack-src"
    say ""
    say "== (a) pack: generating $PACK_MB MB of mixed files under $SRC ..."
    mkdir -p "$SRC"
    # 20% in many small text-like files (1-16 KB, base64: compresses ~25%), 80% in 4 large
    # files: two of random bytes (weights; incompressible) and two base64 (logs/embeddings text).
    small_mb=$(( PACK_MB / 5 ))
    large_mb=$(( (PACK_MB - small_mb) / 4 ))
    # base64 turns 3 bytes into 4: start from 3/4 of the size.
    rand_bytes $(( small_mb * 3 / 4 )) "$T/small.bin"
    python3 - "$T/small.bin" "$SRC" <<'EOF' || die "generating small files failed"
import base64, os, random, sys
data = base64.b64encode(open(sys.argv[1], "rb").read())
os.remove(sys.argv[1])
random.seed(7)
root, off, i = sys.argv[2], 0, 0
while off < len(data):
    n = random.randint(1024, 16384)
    d = os.path.join(root, "shard%03d" % (i // 500), "sub%02d" % (i % 17))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.txt" % i), "wb") as f:
        f.write(data[off:off + n])
    off += n
    i += 1
print("small files:", i)
EOF
    mkdir -p "$SRC/weights" "$SRC/text"
    rand_bytes "$large_mb" "$SRC/weights/w0.bin"
    rand_bytes "$large_mb" "$SRC/weights/w1.bin"
    for k in 0 1; do
        rand_bytes $(( large_mb * 3 / 4 )) "$T/t.bin"
        base64 -w 76 "$T/t.bin" >"$SRC/text/t$k.txt"; rm -f "$T/t.bin"
    done
    in_bytes=$(du -sb "$SRC" | cut -f1)
    files=$(find "$SRC" -type f | wc -l)
    say "input: $files files, $(( in_bytes / 1048576 )) MB"
    # Same start for both: the tree in the page cache.
    tar cf - -C "$SRC" . >/dev/null

    rm -rf "$T/dist"
    t0=$(ms_now)
    if "$YREL" pack "$SRC" --type bench --version 1.0.0 --dest "$T/dist" >"$T/pack.out" 2>&1; then
        yr_ms=$(( ($(ms_now) - t0) / 1000000 ))
    else
        FAILED=1; yr_ms=""; say "yiqiu-release pack FAILED:"; tail -n 5 "$T/pack.out" | sed 's/^/  | /'
    fi
    t0=$(ms_now)
    if tar czf "$T/base.tar.gz" -C "$SRC" . && sha256sum "$T/base.tar.gz" >"$T/base.sha"; then
        tz_ms=$(( ($(ms_now) - t0) / 1000000 ))
    else
        FAILED=1; tz_ms=""; say "tar czf + sha256sum FAILED"
    fi
    if [[ -n $yr_ms && -n $tz_ms ]]; then
        pkg=$(ls "$T"/dist/bench-1.0.0.tar.gz)
        want=$(sha256sum "$pkg" | cut -d' ' -f1)
        grep -q "\"$want\"" "$T/dist/bench-1.0.0.manifest.json" \
            || { FAILED=1; say "manifest checksum != sha256sum of the package"; }
        printf '%-28s %10s %10s %12s\n' "" "wall ms" "MB/s in" "output MB"
        printf '%-28s %10s %10s %12s\n' "yiqiu-release pack" "$yr_ms" "$(mbps "$in_bytes" "$yr_ms")" \
            "$(( $(stat -c %s "$pkg") / 1048576 ))"
        printf '%-28s %10s %10s %12s\n' "tar czf + sha256sum" "$tz_ms" "$(mbps "$in_bytes" "$tz_ms")" \
            "$(( $(stat -c %s "$T/base.tar.gz") / 1048576 ))"
        r=$(ratio "$tz_ms" "$yr_ms")
        v=$(awk -v r="$r" 'BEGIN { print (r + 0 >= 1.0) ? "PASS" : "MISS" }')
        say "goal: pack at least as fast as tar czf + sha256sum: ${r}x  $v"
    fi
    rm -rf "$SRC" "$T/dist" "$T/base.tar.gz"
fi

# ---------------------------------------------------------------------------------------------
# (b) deploy
if (( DO_DEPLOY )); then
    ANSIBLE=${ANSIBLE_PLAYBOOK:-}
    [[ -n $ANSIBLE ]] || ANSIBLE=$(command -v ansible-playbook || true)
    [[ -n $ANSIBLE ]] || ANSIBLE=/opt/ansible/bin/ansible-playbook
    [[ -x $ANSIBLE ]] || die "ansible-playbook not found (set ANSIBLE_PLAYBOOK)"
    [[ -x /usr/sbin/sshd ]] || die "/usr/sbin/sshd missing (apt-get install openssh-server)"

    say ""
    say "== (b) deploy: a $PKG_MB MB package to $N sshd hosts, forks $FORKS"
    PSRC="$T/pkg-src"
    mkdir -p "$PSRC/weights" "$PSRC/conf"
    rand_bytes "$PKG_MB" "$PSRC/weights/model.bin"
    for i in $(seq 1 50); do printf 'key%d = value%d\n' "$i" "$i" >"$PSRC/conf/c$i.ini"; done
    "$YREL" pack "$PSRC" --type model --version 2.0.0 --dest "$T/dist" >/dev/null \
        || die "packing the deploy package failed"
    PKG="$T/dist/model-2.0.0.tar.gz"
    MANIFEST="$T/dist/model-2.0.0.manifest.json"
    say "package: $(( $(stat -c %s "$PKG") / 1048576 )) MB"
    rm -rf "$PSRC"

    # sshd fleet, as bench/fleet.sh starts it.
    if [[ $(id -u) -eq 0 ]]; then
        LOGIN=yiqiu
        id "$LOGIN" >/dev/null 2>&1 || useradd -m -s /bin/bash "$LOGIN" || die "useradd failed"
        usermod -p '*' "$LOGIN"
        home=$(getent passwd "$LOGIN" | cut -d: -f6)
        printf '# yiqiu bench: intentionally empty\n' >"$home/.bashrc"
        printf '# yiqiu bench: intentionally empty\n' >"$home/.profile"
        chown "$LOGIN:" "$home/.bashrc" "$home/.profile"
        mkdir -p /run/sshd && chmod 0755 /run/sshd
    else
        LOGIN=$(id -un)
    fi
    ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$T/host_ed25519" || die "ssh-keygen failed"
    ssh-keygen -q -t ed25519 -N '' -C bench-user -f "$T/id_ed25519" || die "ssh-keygen failed"
    chmod 0755 "$T" "$T/dist"; chmod 0644 "$PKG" "$MANIFEST"
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
    inv="$T/inventory.ini"

    cat >"$T/yiqiu.yml" <<EOF
- hosts: fleet
  gather_facts: false
  tasks:
    - component_deploy:
        type: model
        version: "2.0.0"
        root: /tmp/yiqiu-rbench/{{ inventory_hostname }}
        manifest: $MANIFEST
        sources: [controller]
EOF
    cat >"$T/ansible.yml" <<EOF
- hosts: fleet
  gather_facts: false
  vars:
    root: /tmp/yiqiu-rbench/{{ inventory_hostname }}
  tasks:
    - file: {path: "{{ root }}/releases/2.0.0", state: directory}
    - copy: {src: $PKG, dest: "{{ root }}/model-2.0.0.tar.gz"}
    - unarchive: {src: "{{ root }}/model-2.0.0.tar.gz", dest: "{{ root }}/releases/2.0.0", remote_src: true}
    - file: {src: "{{ root }}/releases/2.0.0", dest: "{{ root }}/current", state: link}
EOF
    # run NAME CMD...: fresh target tree; wall ms into NAME_ms.
    run() {
        local name=$1; shift
        rm -rf /tmp/yiqiu-rbench
        install -d -m 0755 -o "$LOGIN" /tmp/yiqiu-rbench
        local t0; t0=$(ms_now)
        "$@" >"$T/$name.out" 2>&1
        local rc=$?
        printf -v "${name}_ms" '%d' $(( ($(ms_now) - t0) / 1000000 ))
        return $rc
    }
    verify() { # every host has current -> the package's content
        local bad=0 i
        for i in $(seq 1 "$N"); do
            local h; h=$(printf 'h%04d' "$i")
            [[ -f /tmp/yiqiu-rbench/$h/$1/weights/model.bin ]] || bad=$((bad + 1))
        done
        return $bad
    }
    say "yiqiu-play component_deploy ..."
    if HOME="$T/home" run yiqiu "$YIQIU" -i "$inv" -f "$FORKS" "$T/yiqiu.yml" \
        && verify components/model/current; then
        say "  wall ${yiqiu_ms} ms"
    else
        FAILED=1; yiqiu_ms=""; say "  FAILED:"; tail -n 8 "$T/yiqiu.out" | sed 's/^/  | /'
    fi
    say "ansible-playbook copy + unarchive + file state=link ..."
    if ANSIBLE_PIPELINING=1 ANSIBLE_FORKS="$FORKS" ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_NOCOLOR=1 \
        ANSIBLE_RETRY_FILES_ENABLED=0 run ansible "$ANSIBLE" -i "$inv" -f "$FORKS" "$T/ansible.yml" \
        && verify current; then
        say "  wall ${ansible_ms} ms"
    else
        FAILED=1; ansible_ms=""; say "  FAILED:"; tail -n 8 "$T/ansible.out" | sed 's/^/  | /'
    fi
    rm -rf /tmp/yiqiu-rbench
    if [[ -n $yiqiu_ms && -n $ansible_ms ]]; then
        printf '%-40s %10s\n' "" "wall ms"
        printf '%-40s %10s\n' "yiqiu-play component_deploy" "$yiqiu_ms"
        printf '%-40s %10s\n' "ansible copy+unarchive+file link" "$ansible_ms"
        r=$(ratio "$ansible_ms" "$yiqiu_ms")
        v=$(awk -v r="$r" 'BEGIN { print (r + 0 >= 10) ? "PASS" : "MISS" }')
        say "goal: deploy 10x faster than ansible-playbook: ${r}x  $v"
    fi
fi
exit $FAILED
