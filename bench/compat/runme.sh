#!/usr/bin/env bash
# Side-by-side run of ansible-core's own runme.sh integration targets, once with the real
# ansible tools first on PATH and once with a shim directory where `ansible-playbook` is
# yiqiu-play (`ansible` is `yiqiu-play adhoc`, `ansible-inventory` is `yiqiu-play
# inventory`; the other ansible-* tools stay the real ones and are noted per target).
# Each run gets a fresh copy of the target (and its needs/target/ dependencies) in /tmp,
# laid out and with the environment ansible-test gives a runme.sh target (test/integration/
# inventory with `testhost`, OUTPUT_DIR, INVENTORY_PATH, ANSIBLE_* settings...).
# Agreement = same runme.sh exit code and the same sequence of PLAY RECAP rows over every
# invocation. Runnable = ansible's run exits 0 here. Not a test: targets are not copied
# into the repository; the sdist is downloaded from PyPI into a cache.
#
#   bash bench/compat/runme.sh [FILTER_REGEX]     e.g. '^(blocks|handlers)$'
#
# Env: YIQIU_PLAY (default target/release/yiqiu-play), ANSIBLE_VENV (/opt/ansible-bench),
#      TIMEOUT per run (300), OUT (results dir, default /tmp/yiqiu-compat-runme),
#      REUSE_ANSIBLE=1 keeps ansible's results from an earlier run in OUT,
#      RUN_PLUGINS=1 also runs the targets that bring Python plugins (out of scope).
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION=2.19.14
CACHE=${YIQIU_CACHE:-$HOME/.cache/yiqiu-play}/ansible-core-$VERSION
YIQIU=${YIQIU_PLAY:-$REPO/target/release/yiqiu-play}
VENV=${ANSIBLE_VENV:-/opt/ansible-bench}
TIMEOUT=${TIMEOUT:-300}
OUT=${OUT:-/tmp/yiqiu-compat-runme}
FILTER=${1:-.}

# shellcheck source=sdist.sh
. "$REPO/bench/compat/sdist.sh"
mkdir -p "$OUT"
# Several targets switch to en_US.UTF-8; build it privately (LOCPATH) if the system lacks it.
LOCALES=$CACHE.locales
if [[ ! -d $LOCALES/en_US.UTF-8 ]] && command -v localedef >/dev/null; then
    mkdir -p "$LOCALES" && localedef -i en_US -f UTF-8 "$LOCALES/en_US.UTF-8" 2>/dev/null
fi
: >"$OUT/summary.tsv"

aliases() { sed 's/#.*//' "$TARGETS/$1/aliases" 2>/dev/null | tr -s ' \t' '\n\n'; }

# Why a target is not run here (empty: run it).
skip_reason() {
    local t=$1 al
    al=$(aliases "$t")
    if [[ $t == win* || $t == *winrm* || $t == *psrp* || $t == *windows* ]] || grep -qx 'windows\|shippable/windows/.*' <<<"$al"; then
        echo windows
    elif [[ $t == ansible-test* ]] || grep -qx 'needs/target/ansible-test' <<<"$al"; then
        echo ansible-test
    elif grep -qx 'destructive\|needs/root\|needs/privileged' <<<"$al"; then
        echo root-destructive
    elif grep -qx 'needs/ssh' <<<"$al" || [[ $t == *paramiko* || $t == connection_ssh ]]; then
        echo ssh-paramiko
    elif grep -qx 'needs/httptester\|setup/.*/setup_passlib_controller\|packaging' <<<"$al" \
        || [[ $t == ansible-galaxy* || $t == ansible-pull || $t == setup_passlib_controller || $t == packaging_cli-doc ]]; then
        echo network-or-pip
    elif grep -qx 'non_local\|context/target' <<<"$al" || [[ $t == interpreter_discovery* ]]; then
        echo other-interpreter-or-remote
    elif grep -qx 'unsupported\|disabled\|skip/docker' <<<"$al"; then
        echo unsupported
    fi
}

# The first file of the target's own Python plugins/modules, if any (out of scope).
python_plugin() {
    (cd "$TARGETS/$1" && find . -type f -printf '%P\n' | sort \
        | grep -E -m1 '(^|/)([a-z]+_plugins|library|module_utils|plugins|modules)/')
}

# A target and, transitively, its needs/target/ dependencies.
deps() {
    local seen=" $1 " queue=("$1") t d
    while ((${#queue[@]})); do
        t=${queue[0]} queue=("${queue[@]:1}")
        echo "$t"
        for d in $(aliases "$t" | sed -n 's#^needs/target/##p'); do
            [[ $seen == *" $d "* || ! -d $TARGETS/$d ]] && continue
            seen+="$d " queue+=("$d")
        done
    done
}

# Every PLAY RECAP row of every invocation, in order, spaces squeezed.
recaps() {
    awk '/^PLAY RECAP/ {r = 1; next}
         r && /^[^ ].* : ok=[0-9]+/ {gsub(/ +/, " "); print; next}
         {r = 0}' "$1"
}

# The shim directory for one run: logs each call, then runs the real tool or ours.
write_shims() {
    local bin=$1 tool=$2 calls=$3 name real
    mkdir -p "$bin"
    for real in "$VENV"/bin/ansible*; do
        name=$(basename "$real")
        local target="exec '$real' \"\$@\"" via=real
        if [[ $tool == yiqiu ]]; then
            case $name in
                ansible-playbook) target="exec '$YIQIU' \"\$@\"" via=yiqiu ;;
                ansible) target="exec '$YIQIU' adhoc \"\$@\"" via=yiqiu ;;
                ansible-inventory) target="exec '$YIQIU' inventory \"\$@\"" via=yiqiu ;;
            esac
        fi
        printf '#!/bin/sh\necho "%s %s" >>"%s"\n%s\n' "$via" "$name" "$calls" "$target" >"$bin/$name"
        chmod +x "$bin/$name"
    done
    ln -s "$VENV/bin/python3" "$bin/python"
    ln -s "$VENV/bin/python3" "$bin/python3"
}

run_one() {
    local t=$1 tool=$2 work integ dir d
    work=$(mktemp -d "/tmp/yiqiu-runme-$t.XXXXXX")
    integ=$work/test/integration
    mkdir -p "$integ/targets" "$work/output" "$work/home" "$work/junit"
    for d in $(deps "$t"); do cp -a "$TARGETS/$d" "$integ/targets/$d"; done
    printf "[testgroup]\ntesthost ansible_connection='local' ansible_pipelining='yes' ansible_python_interpreter='/usr/bin/python3'\n" >"$integ/inventory"
    : >"$integ/integration.cfg"
    : >"$work/calls"
    write_shims "$work/bin" "$tool" "$work/calls"
    dir=$integ/targets/$t
    (cd "$dir" && env -i HOME="$work/home" LC_ALL=C.UTF-8 TERM=dumb LOCPATH="$LOCALES" \
        PATH="$work/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        ANSIBLE_PYTHON_MODULE_RLIMIT_NOFILE=1024 ANSIBLE_FORCE_COLOR=false ANSIBLE_FORCE_HANDLERS=true \
        ANSIBLE_HOST_PATTERN_MISMATCH=error ANSIBLE_INVENTORY=/dev/null ANSIBLE_DEPRECATION_WARNINGS=false \
        ANSIBLE_HOST_KEY_CHECKING=false ANSIBLE_RETRY_FILES_ENABLED=false ANSIBLE_CONFIG="$integ/integration.cfg" \
        ANSIBLE_LIBRARY=/dev/null ANSIBLE_DEVEL_WARNING=false PAGER=/bin/cat \
        ANSIBLE_PYTHON_INTERPRETER=/set/ansible_python_interpreter/in/inventory \
        JUNIT_OUTPUT_DIR="$work/junit" JUNIT_TASK_RELATIVE_PATH="$work" JUNIT_REPLACE_OUT_OF_TREE_PATH=out-of-tree: \
        ANSIBLE_CALLBACKS_ENABLED=junit ANSIBLE_TEST_CI=local ANSIBLE_TEST_COVERAGE= \
        ANSIBLE_TEST_ANSIBLE_VERSION=$VERSION OUTPUT_DIR="$work/output" INVENTORY_PATH="$integ/inventory" \
        ANSIBLE_PLAYBOOK_DIR="$dir" ANSIBLE_TEST_PYTHON_VERSION=3.11 \
        ANSIBLE_TEST_PYTHON_INTERPRETER="$VENV/bin/python3" \
        timeout -k 5 "$TIMEOUT" ./runme.sh </dev/null >"$OUT/$t.$tool.log" 2>&1)
    echo $? >"$OUT/$t.$tool.rc"
    sort -u "$work/calls" | tr '\n' ' ' >"$OUT/$t.$tool.calls"
    rm -rf "$work"
}

declare -A skipped=()
agree=0 runnable=0 plugins=0 failing=0
for dir in "$TARGETS"/*/; do
    t=$(basename "$dir")
    [[ $t =~ $FILTER && -f $dir/runme.sh ]] || continue
    reason=$(skip_reason "$t")
    if [[ -n $reason ]]; then
        skipped[$reason]=$((${skipped[$reason]:-0} + 1))
        printf 'SKIP\t%s\t%s\n' "$t" "$reason" >>"$OUT/summary.tsv"
        continue
    fi
    plugin=$(python_plugin "$t")
    if [[ -n $plugin && ${RUN_PLUGINS:-0} != 1 ]]; then
        plugins=$((plugins + 1))
        printf 'PLUGINS\t%s\t%s\n' "$t" "$plugin" >>"$OUT/summary.tsv"
        printf '%-7s %-40s %s\n' PLUGINS "$t" "$plugin"
        continue
    fi
    for tool in ansible yiqiu; do
        [[ $tool == ansible && ${REUSE_ANSIBLE:-0} == 1 && -f $OUT/$t.ansible.rc ]] && continue
        run_one "$t" "$tool"
    done
    a_rc=$(cat "$OUT/$t.ansible.rc") y_rc=$(cat "$OUT/$t.yiqiu.rc")
    y_calls=$(cat "$OUT/$t.yiqiu.calls")
    needs=$(tr ' ' '\n' <<<"$y_calls" | grep -v '^$\|^real$\|^yiqiu$\|^ansible$\|^ansible-playbook$\|^ansible-inventory$' | sort -u | tr '\n' ',')
    if [[ $y_calls != *yiqiu* ]]; then
        reason=no-playbook-call
        skipped[$reason]=$((${skipped[$reason]:-0} + 1))
        printf 'SKIP\t%s\t%s\t%s\n' "$t" "$reason" "$y_calls" >>"$OUT/summary.tsv"
        continue
    fi
    if [[ $a_rc != 0 ]]; then
        failing=$((failing + 1)) verdict=ANSFAIL
    else
        runnable=$((runnable + 1))
        if [[ $a_rc == "$y_rc" && "$(recaps "$OUT/$t.ansible.log")" == "$(recaps "$OUT/$t.yiqiu.log")" ]]; then
            verdict=agree agree=$((agree + 1))
        else
            verdict=DIFFER
        fi
    fi
    printf '%s\t%s\t%s/%s\t%s/%s recaps\t%s\n' "$verdict" "$t" "$a_rc" "$y_rc" \
        "$(recaps "$OUT/$t.ansible.log" | wc -l)" "$(recaps "$OUT/$t.yiqiu.log" | wc -l)" "${needs%,}" >>"$OUT/summary.tsv"
    printf '%-7s %-40s rc %s/%s %s\n' "$verdict" "$t" "$a_rc" "$y_rc" "${needs:+real: ${needs%,}}"
done
for reason in "${!skipped[@]}"; do echo "skipped ($reason): ${skipped[$reason]}"; done | sort
echo "out of scope (Python plugins of their own): $plugins; ansible itself fails here: $failing"
echo "agree: $agree of $runnable runnable targets (ansible rc/yiqiu rc and recaps in $OUT/summary.tsv)"
