#!/usr/bin/env bash
# Side-by-side run of ansible-core's own role-style integration targets (the ones with
# tasks/main.yml and no runme.sh) through ansible-playbook and yiqiu-play, as ansible-test
# would wrap them (a play on `testhost` with a local connection and gathered facts).
# Agreement = same exit code and same PLAY RECAP counters. Not a test: targets are not
# copied into the repository; the sdist is downloaded from PyPI into a cache.
#
#   bash bench/compat/targets.sh [FILTER_REGEX]     e.g. '^(assert|set_fact|loops)$'
#
# Env: YIQIU_PLAY (default target/release/yiqiu-play), ANSIBLE_VENV (/opt/ansible-k8s-venv),
#      TIMEOUT per run (120), OUT (results dir, default /tmp/yiqiu-compat-targets),
#      REUSE_ANSIBLE=1 keeps ansible-playbook's results from an earlier run in OUT.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION=2.19.14
CACHE=${YIQIU_CACHE:-$HOME/.cache/yiqiu-play}/ansible-core-$VERSION
YIQIU=${YIQIU_PLAY:-$REPO/target/release/yiqiu-play}
VENV=${ANSIBLE_VENV:-/opt/ansible-k8s-venv}
TIMEOUT=${TIMEOUT:-120}
OUT=${OUT:-/tmp/yiqiu-compat-targets}
FILTER=${1:-.}

# shellcheck source=sdist.sh
. "$REPO/bench/compat/sdist.sh"
mkdir -p "$OUT"
: >"$OUT/summary.tsv"

recap() { grep -E '^testhost +:' "$1" | sed -E 's/ +/ /g' | head -1; }

agree=0 total=0
for dir in "$TARGETS"/*/; do
    t=$(basename "$dir")
    [[ $t =~ $FILTER ]] || continue
    [[ -f $dir/tasks/main.yml && ! -f $dir/runme.sh ]] || continue
    # Targets that need root-only system changes, other platforms or the network.
    if grep -qE 'destructive|needs/root|needs/privileged|unsupported|disabled|needs/httptester|skip/docker|context/controller|windows|shippable/windows' "$dir/aliases" 2>/dev/null \
        || [[ $t == win* || $t == *windows* || $t == incidental_win* ]]; then
        continue
    fi
    for tool in ansible yiqiu; do
        if [[ $tool == ansible && ${REUSE_ANSIBLE:-0} == 1 && -f $OUT/$t.ansible.rc ]]; then
            continue
        fi
        # A fresh directory per runner: targets create files relative to the working
        # directory and under output_dir, and the second runner must not find the first's.
        work=$(mktemp -d)
        printf 'testhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' >"$work/inventory"
        printf -- '- hosts: testhost\n  gather_facts: true\n  roles:\n    - role: %s\n' "$t" >"$work/play.yml"
        printf '[defaults]\nroles_path = %s\n' "$TARGETS" >"$work/ansible.cfg"
        if [[ $tool == ansible ]]; then cmd=("$VENV/bin/ansible-playbook"); else cmd=("$YIQIU"); fi
        (cd "$work" && LC_ALL=C.UTF-8 ANSIBLE_NOCOLOR=1 ANSIBLE_CONFIG="$work/ansible.cfg" \
            timeout -k 5 "$TIMEOUT" "${cmd[@]}" -i inventory play.yml \
            -e "output_dir=$work/out" >"$OUT/$t.$tool.log" 2>&1)
        echo $? >"$OUT/$t.$tool.rc"
        rm -rf "$work"
    done
    a_rc=$(cat "$OUT/$t.ansible.rc") y_rc=$(cat "$OUT/$t.yiqiu.rc")
    a_recap=$(recap "$OUT/$t.ansible.log") y_recap=$(recap "$OUT/$t.yiqiu.log")
    total=$((total + 1))
    if [[ $a_rc == "$y_rc" && $a_recap == "$y_recap" ]]; then
        verdict=agree; agree=$((agree + 1))
    else
        verdict=DIFFER
    fi
    printf '%s\t%s\t%s/%s\t%s\t%s\n' "$verdict" "$t" "$a_rc" "$y_rc" "$a_recap" "$y_recap" >>"$OUT/summary.tsv"
    printf '%-7s %-40s rc %s/%s\n' "$verdict" "$t" "$a_rc" "$y_rc"
done
echo "agree: $agree of $total targets (ansible rc/yiqiu rc and recaps in $OUT/summary.tsv)"
