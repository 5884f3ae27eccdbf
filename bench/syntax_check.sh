#!/usr/bin/env bash
# `--syntax-check` on a generated 100-task playbook: yiqiu-play against ansible-playbook,
# median wall time of several runs each (hyperfine when installed, else a date +%s%N loop).
#
#   bench/syntax_check.sh [--no-build]
#
# Environment: RUNS (yiqiu-play runs, 30), ANSIBLE_RUNS (10), YIQIU=<path>,
# ANSIBLE_PLAYBOOK=<path>, KEEP=1 keeps the temp dir.
# Goal: yiqiu-play < 20 ms. A miss prints MISS; timing never fails the script, only a
# command that fails does.
set -uo pipefail

BUILD=1
[[ ${1:-} == --no-build ]] && BUILD=0
RUNS=${RUNS:-30}
ANSIBLE_RUNS=${ANSIBLE_RUNS:-10}
GOAL_MS=20
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
export LC_ALL=C.UTF-8 ANSIBLE_NOCOLOR=1

die() { printf 'syntax_check.sh: %s\n' "$*" >&2; exit 1; }

if (( BUILD )); then
    echo "building yiqiu-play (release) ..."
    (cd "$REPO" && cargo build --release -q) || die "cargo build --release failed"
fi
YIQIU=${YIQIU:-$REPO/target/release/yiqiu-play}
[[ -x $YIQIU ]] || die "$YIQIU not found"

find_ansible() {
    if [[ -n ${ANSIBLE_PLAYBOOK:-} ]]; then echo "$ANSIBLE_PLAYBOOK"; return; fi
    if command -v ansible-playbook >/dev/null; then command -v ansible-playbook; return; fi
    for p in /opt/ansible/bin/ansible-playbook "$HERE/.venv/bin/ansible-playbook"; do
        [[ -x $p ]] && { echo "$p"; return; }
    done
    echo "ansible-playbook not found; installing ansible-core==2.19.14 into bench/.venv ..." >&2
    python3 -m venv "$HERE/.venv" && "$HERE/.venv/bin/pip" install -q ansible-core==2.19.14 >&2 \
        && echo "$HERE/.venv/bin/ansible-playbook"
}
ANSIBLE=$(find_ansible) || die "could not find or install ansible-playbook"

T=$(mktemp -d /tmp/yiqiu-syntax.XXXXXX)
trap '[[ ${KEEP:-0} == 1 ]] && echo "kept $T" || rm -rf "$T"' EXIT

# 10 units of 10 tasks: debug, set_fact, command with when, a loop, task vars, shell, and a
# block with rescue/always.
gen() {
    cat <<'EOF'
---
- name: syntax bench
  hosts: all
  gather_facts: false
  vars:
    app_name: bench
    app_port: 8080
    items_list: [a, b, c]
  tasks:
EOF
    for i in $(seq 0 9); do
        cat <<EOF
    - name: debug $i
      debug:
        msg: "task $i on {{ inventory_hostname }} port {{ app_port + $i }}"
    - name: set_fact $i
      set_fact:
        fact_$i: "{{ app_name | upper }}-$i"
    - name: command $i
      command: echo {{ app_name }} $i
      when: app_port > 1000
      tags: [cmd]
    - name: loop $i
      debug:
        msg: "{{ item }} ($i)"
      loop: "{{ items_list }}"
    - name: task vars $i
      debug:
        msg: "{{ local_$i }}"
      vars:
        local_$i: "{{ app_port * 2 }}"
    - name: shell $i
      shell: "echo {{ app_name }} | wc -c"
      when:
        - app_name is defined
      register: shell_$i
    - name: block $i
      when: app_name is defined
      block:
        - debug: msg="in block $i"
        - command: /bin/true
      rescue:
        - debug: msg="rescued $i"
      always:
        - set_fact:
            done_$i: true
EOF
    done
}
gen >"$T/site.yml"
# Count tasks, not the block entries that hold them.
tasks=$(grep -E '^ +- (name: |debug: |command: |set_fact:)' "$T/site.yml" | grep -vc 'name: block')
echo "playbook: $T/site.yml ($tasks tasks)"

YCMD=("$YIQIU" -i localhost, --syntax-check "$T/site.yml")
ACMD=("$ANSIBLE" -i localhost, --syntax-check "$T/site.yml")
for c in YCMD ACMD; do
    declare -n cmd=$c
    if ! out=$("${cmd[@]}" 2>&1); then
        echo "FAILED: ${cmd[*]}"; printf '%s\n' "$out" | tail -n 10 | sed 's/^/  | /'
        exit 1
    fi
done

# median_ms RUNS CMD...: median wall time in ms (3 decimals).
median_ms() {
    local runs=$1; shift
    if command -v hyperfine >/dev/null; then
        hyperfine -N --style none --warmup 2 --runs "$runs" --export-json "$T/h.json" "$(printf '%q ' "$@")" \
            >/dev/null 2>&1 || return 1
        python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$T/h.json"
    else
        local i t0 t1
        "$@" >/dev/null 2>&1 # warm-up
        for ((i = 0; i < runs; i++)); do
            t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
            echo $(( t1 - t0 ))
        done | sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f\n", m / 1e6 }'
    fi
}

tool=$(command -v hyperfine >/dev/null && echo hyperfine || echo "date loop")
echo "timing with $tool: yiqiu-play x$RUNS, ansible-playbook x$ANSIBLE_RUNS ..."
y=$(median_ms "$RUNS" "${YCMD[@]}") || die "timing yiqiu-play failed"
a=$(median_ms "$ANSIBLE_RUNS" "${ACMD[@]}") || die "timing ansible-playbook failed"
printf '%-32s %10s ms (median)\n' "yiqiu-play --syntax-check" "$y" "ansible-playbook --syntax-check" "$a"
awk -v a="$a" -v y="$y" 'BEGIN { if (y > 0) printf "ratio: yiqiu-play is %.1fx faster\n", a / y }'
awk -v y="$y" -v g="$GOAL_MS" 'BEGIN { printf "goal: yiqiu-play < %d ms: %s ms  %s\n", g, y, (y + 0 < g) ? "PASS" : "MISS" }'
