#!/usr/bin/env bash
# A REAL Kubernetes control plane for yiqiu-play's integration tests, built from Debian's
# own `kubernetes` source package, plus a NODE STAND-IN (node_standin.py: no kubelet, no
# containers, it only fakes node and pod status).
#
#   cluster.sh build          install packages, build + cache kube-apiserver,
#                             kube-controller-manager, kube-scheduler (and kubectl)
#   cluster.sh start [DIR]    start etcd, apiserver, controller-manager, scheduler and the
#                             node stand-in with their state in DIR (default /tmp/yiqiu-k8s);
#                             reuses a cluster already running there; prints the kubeconfig
#   cluster.sh stop [DIR]     stop everything started in DIR and remove its state (logs stay)
#   cluster.sh env [DIR]      print `export KUBECONFIG=...` (and friends) for eval
#   cluster.sh status [DIR]   tell whether the cluster in DIR is up
#
# Environment:
#   YIQIU_CACHE           cache root (default ~/.cache/yiqiu-play); binaries go to
#                         $YIQIU_CACHE/k8s-<debian version>/bin
#   YIQIU_K8S_JOBS        build parallelism, 1 or 2 (default 2; never more)
#   YIQIU_K8S_KEEP_WORK=1 keep the source tree and Go build cache after a build
#   YIQIU_K8S_TIMEOUT     seconds `start` waits for readiness (default 120)
#   YIQIU_K8S_VERSION     Debian version to build (default: apt's kubernetes-client candidate)

set -euo pipefail

SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${YIQIU_CACHE:-$HOME/.cache/yiqiu-play}"
DEFAULT_DIR=/tmp/yiqiu-k8s
NODE_NAME=yiqiu-standin-node
SERVICE_CIDR=10.0.0.0/24
SERVICE_IP=10.0.0.1
FEATURE_GATES="TTLAfterFinished=true"
SERVER_BINS=(kube-apiserver kube-controller-manager kube-scheduler)
ALL_BINS=("${SERVER_BINS[@]}" kubectl)
BUILD_PKGS=(golang-go dpkg-dev make rsync etcd-server openssl python3)
RUN_PKGS=(etcd-server openssl python3)
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler node-standin)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

log() { echo "[k8s $(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------
# packages

APT_UPDATED=0
apt_update() {
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        $SUDO apt-get update -qq >&2
        APT_UPDATED=1
    fi
}

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

ensure_pkgs() {
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [ "${#missing[@]}" = 0 ] && return 0
    apt_update
    log "apt-get install ${missing[*]}"
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Debian version of the kubernetes packages (the cache key).
k8s_version() {
    if [ -n "${YIQIU_K8S_VERSION:-}" ]; then echo "$YIQIU_K8S_VERSION"; return; fi
    local v
    v="$(apt-cache policy kubernetes-client 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [ -z "$v" ] || [ "$v" = "(none)" ]; then
        apt_update
        v="$(apt-cache policy kubernetes-client 2>/dev/null | awk '/Candidate:/ {print $2}')"
    fi
    [ -n "$v" ] && [ "$v" != "(none)" ] || die "no kubernetes-client package in the apt sources"
    echo "$v"
}

# Add deb-src entries mirroring the machine's own `deb` entries for this release (one-line
# sources.list and deb822 .sources), so `apt-get source kubernetes` works.
DEBSRC_FILE=/etc/apt/sources.list.d/yiqiu-k8s-debsrc.sources
ensure_deb_src() {
    local ver="$1"
    if apt-cache showsrc kubernetes 2>/dev/null | grep -qx "Version: $ver"; then return 0; fi
    local codename
    # shellcheck disable=SC1091
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
    log "adding deb-src entries for $codename to $DEBSRC_FILE"
    local tmp
    tmp="$(mktemp)"
    {
        echo "# Added by yiqiu-play tests/k8s/cluster.sh: source packages for the k8s build."
        # deb822 stanzas: copy every enabled `Types: deb` stanza for this release verbatim,
        # with Types replaced by deb-src.
        local f
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -e "$f" ] || continue
            [ "$f" = "$DEBSRC_FILE" ] && continue
            awk -v codename="$codename" '
                function flush() {
                    if (n > 0 && types ~ /(^| )deb( |$)/ && suites ~ ("(^| )" codename) && enabled != "no") {
                        for (i = 1; i <= n; i++) print lines[i]
                        print ""
                    }
                    n = 0; types = ""; suites = ""; enabled = ""
                }
                /^[ \t]*$/ { flush(); next }
                /^#/ { next }
                {
                    line = $0
                    if (tolower($1) == "types:") { types = $0; sub(/^[^:]*:[ \t]*/, "", types); line = "Types: deb-src" }
                    if (tolower($1) == "suites:") { suites = $0; sub(/^[^:]*:[ \t]*/, "", suites) }
                    if (tolower($1) == "enabled:") { enabled = tolower($2) }
                    lines[++n] = line
                }
                END { flush() }
            ' "$f"
        done
    } >"$tmp"
    # one-line format: deb [opts] uri suite components -> deb-src ...
    local oneline=""
    if [ -f /etc/apt/sources.list ]; then
        oneline="$(awk -v codename="$codename" '$1 == "deb" {
                i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i+1) ~ ("^" codename)) { sub(/^deb/, "deb-src"); print } }' /etc/apt/sources.list)"
    fi
    if [ -n "$oneline" ]; then
        echo "$oneline" | $SUDO tee /etc/apt/sources.list.d/yiqiu-k8s-debsrc.list >/dev/null
    fi
    if grep -q '^Types: deb-src' "$tmp"; then
        $SUDO install -m 0644 "$tmp" "$DEBSRC_FILE"
    fi
    rm -f "$tmp"
    APT_UPDATED=0
    apt_update
    apt-cache showsrc kubernetes 2>/dev/null | grep -qx "Version: $ver" \
        || die "source package kubernetes $ver not found after adding deb-src entries"
}

# ---------------------------------------------------------------------------------------
# build + cache

cache_dir() { echo "$CACHE_ROOT/k8s-$1"; }

# Prints nothing and returns 0 when the cached binaries are complete and run; otherwise
# prints why and returns 1.
cache_valid() {
    local bin="$1/bin" b out
    [ -f "$bin/.complete" ] || { echo "no completed build in $bin"; return 1; }
    for b in "${ALL_BINS[@]}"; do
        [ -x "$bin/$b" ] || { echo "$bin/$b missing"; return 1; }
        if [ "$b" = kubectl ]; then
            out="$(timeout 30 "$bin/$b" version --client --short 2>&1)" || { echo "$b does not run: $out"; return 1; }
        else
            out="$(timeout 30 "$bin/$b" --version 2>&1)" || { echo "$b does not run: $out"; return 1; }
        fi
        case "$out" in *v1.*) ;; *) echo "$b --version printed: $out"; return 1 ;; esac
    done
    return 0
}

do_build() {
    local ver dir why t0
    t0=$(date +%s)
    ensure_pkgs "${BUILD_PKGS[@]}"
    ver="$(k8s_version)"
    dir="$(cache_dir "$ver")"
    mkdir -p "$dir"
    exec 9>"$dir/.build.lock"
    flock -w 3600 9 || die "another build holds $dir/.build.lock"
    if why="$(cache_valid "$dir")"; then
        log "cached: $dir/bin (Kubernetes $("$dir/bin/kube-apiserver" --version | awk '{print $2}'), Debian $ver)"
        echo "$dir/bin"
        return 0
    fi
    log "building Kubernetes from Debian source $ver ($why)"
    local jobs="${YIQIU_K8S_JOBS:-2}"
    case "$jobs" in 1 | 2) ;; *) die "YIQIU_K8S_JOBS must be 1 or 2" ;; esac
    ensure_deb_src "$ver"
    local work="$dir/work"
    rm -rf "$work" "$dir/bin.new"
    mkdir -p "$work" "$dir/bin.new"
    (cd "$work" && apt-get source -qq "kubernetes=$ver" >"$work/apt-source.log" 2>&1) \
        || { tail -20 "$work/apt-source.log" >&2; die "apt-get source kubernetes=$ver failed"; }
    (cd "$work" && apt-get download -qq "kubernetes-client=$ver" >>"$work/apt-source.log" 2>&1) \
        || { tail -20 "$work/apt-source.log" >&2; die "apt-get download kubernetes-client=$ver failed"; }
    local src
    src="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -1)"
    [ -n "$src" ] && [ -d "$src/vendor" ] || die "no kubernetes source tree with vendor/ in $work"

    # Upstream's own build: `make all` first runs every code generator of
    # Makefile.generated_files (prerelease-lifecycle, deepcopy, defaulter, conversion,
    # openapi -> pkg/generated/openapi/zz_generated.openapi.go, bindata), then
    # hack/make-rules/build.sh, which builds in GOPATH mode (GO111MODULE=off) with the
    # tree linked at _output/local/go/src/k8s.io/kubernetes. GOMAXPROCS caps `go build -p`
    # and the compiler's own concurrency.
    log "make all WHAT='cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler' (GOMAXPROCS=$jobs, log: $work/build.log)"
    if ! (cd "$src" && env GOMAXPROCS="$jobs" GOFLAGS= GO111MODULE=off CGO_ENABLED=0 \
        nice -n 10 make all WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler" \
        >"$work/build.log" 2>&1); then
        tail -40 "$work/build.log" >&2
        die "build failed, see $work/build.log"
    fi
    local b
    for b in "${SERVER_BINS[@]}"; do
        install -m 0755 "$src/_output/bin/$b" "$dir/bin.new/$b"
    done
    # kubectl from Debian's kubernetes-client of the same version, unpacked (not installed:
    # /usr/bin/kubectl may belong to another package on this machine).
    local deb
    deb="$(ls "$work"/kubernetes-client_*.deb | head -1)"
    dpkg-deb -x "$deb" "$work/client"
    install -m 0755 "$work/client/usr/bin/kubectl" "$dir/bin.new/kubectl"
    echo "$ver" >"$dir/bin.new/.complete"
    rm -rf "${dir:?}/bin"
    mv "$dir/bin.new" "$dir/bin"
    if why="$(cache_valid "$dir")"; then :; else die "fresh build does not validate: $why"; fi
    if [ "${YIQIU_K8S_KEEP_WORK:-0}" != 1 ]; then
        mkdir -p "$dir/logs"
        cp "$work/build.log" "$dir/logs/build.log"
        rm -rf "$work"
    fi
    log "built in $(($(date +%s) - t0)) s: $dir/bin"
    echo "$dir/bin"
}

# The bin dir of a valid cache, building it when needed (start calls this).
bin_dir() {
    local ver dir
    ensure_pkgs "${RUN_PKGS[@]}"
    if ver="$(k8s_version 2>/dev/null)" && dir="$(cache_dir "$ver")" && cache_valid "$dir" >/dev/null; then
        echo "$dir/bin"
        return 0
    fi
    log "no valid cached build: running build first"
    do_build
}

# ---------------------------------------------------------------------------------------
# cluster

state_dir() {
    local d="${1:-$DEFAULT_DIR}"
    mkdir -p "$d"
    (cd "$d" && pwd)
}

pid_alive_ours() { # DIR NAME
    local pidf="$1/$2.pid" pid
    [ -f "$pidf" ] || return 1
    pid="$(cat "$pidf")"
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$1/" || return 1
    # a zombie is not alive
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

kc() { "$BIN/kubectl" --kubeconfig "$1/admin.kubeconfig" --request-timeout=5s "${@:2}"; }

cluster_up() { # DIR -> 0 when every process is alive and the apiserver is ready
    local c
    [ -f "$1/cluster.env" ] || return 1
    for c in "${COMPONENTS[@]}"; do pid_alive_ours "$1" "$c" || return 1; done
    [ "$(kc "$1" get --raw /readyz 2>/dev/null)" = ok ]
}

free_ports() { # N -> N distinct free TCP ports on 127.0.0.1
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

gen_pki() { # PKI_DIR
    local p="$1"
    mkdir -p "$p"
    (
        cd "$p"
        umask 077
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
            -subj "/CN=yiqiu-test-kubernetes-ca" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
        leaf() { # name subject eku [san]
            printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' "$3" >"$1.ext"
            [ -n "${4:-}" ] && printf 'subjectAltName=%s\n' "$4" >>"$1.ext"
            openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
            openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
                -days 3650 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
            rm -f "$1.csr" "$1.ext"
        }
        leaf apiserver "/CN=kube-apiserver" serverAuth \
            "IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
        leaf admin "/O=system:masters/CN=yiqiu-admin" clientAuth
        leaf controller-manager "/CN=system:kube-controller-manager" clientAuth
        leaf scheduler "/CN=system:kube-scheduler" clientAuth
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
        chmod 0644 ca.crt
    )
}

write_kubeconfig() { # FILE SERVER CA USERNAME (token TOKEN | cert CRT KEY)
    local f="$1" server="$2" ca="$3" user="$4" kind="$5"
    {
        cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: yiqiu-test
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$ca")
contexts:
- name: yiqiu-test
  context:
    cluster: yiqiu-test
    user: $user
    namespace: default
current-context: yiqiu-test
users:
- name: $user
  user:
EOF
        if [ "$kind" = token ]; then
            echo "    token: $6"
        else
            echo "    client-certificate-data: $(base64 -w0 <"$6")"
            echo "    client-key-data: $(base64 -w0 <"$7")"
        fi
    } >"$f"
    chmod 0600 "$f"
}

launch() { # DIR NAME CMD... : background, own session, logs to DIR/NAME.log, pid in DIR/NAME.pid
    local d="$1" name="$2"
    shift 2
    # 8>&- 9>&-: the children must not inherit (and so hold) this script's lock files.
    setsid "$@" >"$d/$name.log" 2>&1 </dev/null 8>&- 9>&- &
    echo $! >"$d/$name.pid"
}

print_env() { # DIR
    cat "$1/cluster.env"
}

wait_for() { # DESCRIPTION DIR DEADLINE CMD...
    local what="$1" d="$2" deadline="$3" c
    shift 3
    until "$@" >/dev/null 2>&1; do
        for c in "${COMPONENTS[@]}"; do
            [ -f "$d/$c.pid" ] || continue
            if ! pid_alive_ours "$d" "$c"; then
                log "$c died while waiting for $what; last lines of $d/$c.log:"
                tail -25 "$d/$c.log" >&2 || true
                return 1
            fi
        done
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "timed out waiting for $what"
            return 1
        fi
        sleep 0.3
    done
}

readyz_ok() { [ "$(kc "$1" get --raw /readyz 2>/dev/null)" = ok ]; }
default_sa_ok() { [ -n "$(kc "$1" -n default get serviceaccount default -o 'jsonpath={.secrets[0].name}' 2>/dev/null)" ]; }
# Ready, and the stand-in has dropped the not-ready taint that admission adds to new nodes.
node_ready() { [ "$(kc "$1" get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}|{.spec.taints}' 2>/dev/null)" = "True|" ]; }

do_start() {
    local d t0
    t0=$(date +%s%N)
    d="$(state_dir "${1:-}")"
    if [ -e "$d" ] && [ -n "$(ls -A "$d" 2>/dev/null)" ] && [ ! -f "$d/.yiqiu-k8s" ]; then
        die "$d is not empty and not a yiqiu-k8s state dir"
    fi
    touch "$d/.yiqiu-k8s"
    BIN="$(bin_dir)"
    exec 8>"$d/.cluster.lock"
    flock -w 300 8 || die "another cluster.sh holds $d/.cluster.lock"
    # A cluster started by other versions of these scripts (say, an older node stand-in) is
    # started again rather than reused.
    local fingerprint
    fingerprint="$(cat "$SELF_DIR/cluster.sh" "$SELF_DIR/node_standin.py" | sha256sum | cut -c1-16)"
    if cluster_up "$d"; then
        if [ "$(cat "$d/.fingerprint" 2>/dev/null)" = "$fingerprint" ]; then
            log "already running in $d: reusing it"
            echo "KUBECONFIG=$d/admin.kubeconfig"
            return 0
        fi
        log "running in $d from other versions of cluster.sh / node_standin.py: restarting it"
        stop_procs "$d"
    fi
    local c
    for c in "${COMPONENTS[@]}"; do
        if [ -f "$d/$c.pid" ]; then
            log "stale or partial cluster in $d: stopping it first"
            stop_procs "$d"
            break
        fi
    done
    clean_state "$d"

    local etcd_port peer_port api_port kcm_port sched_port
    read -r etcd_port peer_port api_port kcm_port sched_port <<<"$(free_ports 5)"
    local server="https://127.0.0.1:$api_port" pki="$d/pki"
    gen_pki "$pki"
    local token
    token="$(openssl rand -hex 24)"
    (umask 077 && echo "$token" >"$d/admin.token")
    (umask 077 && echo "$token,yiqiu-admin,yiqiu-admin,\"system:masters\"" >"$pki/tokens.csv")
    write_kubeconfig "$d/admin.kubeconfig" "$server" "$pki/ca.crt" yiqiu-admin token "$token"
    write_kubeconfig "$d/admin-cert.kubeconfig" "$server" "$pki/ca.crt" yiqiu-admin cert "$pki/admin.crt" "$pki/admin.key"
    write_kubeconfig "$d/controller-manager.kubeconfig" "$server" "$pki/ca.crt" system:kube-controller-manager cert \
        "$pki/controller-manager.crt" "$pki/controller-manager.key"
    write_kubeconfig "$d/scheduler.kubeconfig" "$server" "$pki/ca.crt" system:kube-scheduler cert \
        "$pki/scheduler.crt" "$pki/scheduler.key"
    cat >"$d/cluster.env" <<EOF
export KUBECONFIG=$d/admin.kubeconfig
export YIQIU_K8S_DIR=$d
export YIQIU_K8S_SERVER=$server
export YIQIU_K8S_TOKEN_FILE=$d/admin.token
export YIQIU_K8S_CA_FILE=$pki/ca.crt
export YIQIU_K8S_NODE=$NODE_NAME
export YIQIU_K8S_BIN=$BIN
export PATH="$BIN:\$PATH"
EOF

    log "starting etcd on 127.0.0.1:$etcd_port"
    launch "$d" etcd etcd --name yiqiu --data-dir "$d/etcd" \
        --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "yiqiu=http://127.0.0.1:$peer_port" --initial-cluster-state new \
        --snapshot-count 10000 --quota-backend-bytes 2147483648 --log-level warn

    log "starting kube-apiserver on $server"
    launch "$d" kube-apiserver "$BIN/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$etcd_port" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" --insecure-port 0 \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
        --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-cluster-ip-range "$SERVICE_CIDR" \
        --authorization-mode Node,RBAC --allow-privileged=true \
        --requestheader-client-ca-file "$pki/ca.crt" --requestheader-allowed-names yiqiu-front-proxy \
        --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
        --requestheader-extra-headers-prefix X-Remote-Extra- \
        --endpoint-reconciler-type none \
        --feature-gates "$FEATURE_GATES" \
        --cert-dir "$pki" --profiling=false --v 1

    local deadline=$(($(date +%s) + ${YIQIU_K8S_TIMEOUT:-120}))
    if ! wait_for "apiserver /readyz" "$d" "$deadline" readyz_ok "$d"; then
        stop_procs "$d"
        die "kube-apiserver did not become ready (logs in $d)"
    fi

    log "starting kube-controller-manager and kube-scheduler"
    # The PV binder retries a claim whose volume it has not seen yet on its resync period
    # (15 s by default); 2 s keeps tests that create a PV and its claim together short.
    launch "$d" kube-controller-manager "$BIN/kube-controller-manager" \
        --kubeconfig "$d/controller-manager.kubeconfig" \
        --authentication-kubeconfig "$d/controller-manager.kubeconfig" \
        --authorization-kubeconfig "$d/controller-manager.kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$kcm_port" --port 0 --leader-elect=false \
        --controllers '*,-nodelifecycle' --use-service-account-credentials \
        --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
        --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
        --feature-gates "$FEATURE_GATES" --profiling=false --v 1 \
        --pvclaimbinder-sync-period 2s
    launch "$d" kube-scheduler "$BIN/kube-scheduler" \
        --kubeconfig "$d/scheduler.kubeconfig" \
        --authentication-kubeconfig "$d/scheduler.kubeconfig" \
        --authorization-kubeconfig "$d/scheduler.kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$sched_port" --port 0 --leader-elect=false \
        --profiling=false --v 1
    log "starting the node stand-in ($NODE_NAME)"
    local py=/usr/bin/python3
    [ -x "$py" ] || py="$(command -v python3)"
    launch "$d" node-standin "$py" -u "$SELF_DIR/node_standin.py" --server "$server" \
        --token-file "$d/admin.token" --ca-file "$pki/ca.crt"

    if ! wait_for "default service account" "$d" "$deadline" default_sa_ok "$d" \
        || ! wait_for "node $NODE_NAME Ready" "$d" "$deadline" node_ready "$d"; then
        stop_procs "$d"
        die "cluster did not come up (logs in $d)"
    fi
    for c in "${COMPONENTS[@]}"; do
        pid_alive_ours "$d" "$c" || { stop_procs "$d"; die "$c is not running (see $d/$c.log)"; }
    done
    echo "$fingerprint" >"$d/.fingerprint"
    local ms=$((($(date +%s%N) - t0) / 1000000))
    log "cluster ready in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s; kubeconfig: $d/admin.kubeconfig"
    echo "KUBECONFIG=$d/admin.kubeconfig"
}

stop_procs() { # DIR
    local d="$1" c pid i
    local rev=()
    for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do rev+=("${COMPONENTS[$i]}"); done
    for c in "${rev[@]}"; do
        if pid_alive_ours "$d" "$c"; then
            pid="$(cat "$d/$c.pid")"
            kill -TERM "$pid" 2>/dev/null || true
            for i in $(seq 1 50); do
                pid_alive_ours "$d" "$c" || break
                sleep 0.2
            done
            if pid_alive_ours "$d" "$c"; then
                log "$c ($pid) ignored SIGTERM: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                sleep 0.2
            fi
        fi
        rm -f "$d/$c.pid"
    done
}

clean_state() { # DIR: everything but the logs
    local d="$1"
    [ -f "$d/.yiqiu-k8s" ] || die "refusing to clean $d: not a yiqiu-k8s state dir"
    rm -rf "$d/etcd" "$d/pki"
    rm -f "$d"/*.kubeconfig "$d/admin.token" "$d/cluster.env" "$d"/*.pid
}

do_stop() {
    local d="${1:-$DEFAULT_DIR}"
    if [ ! -d "$d" ]; then log "nothing in $d"; return 0; fi
    d="$(cd "$d" && pwd)"
    [ -f "$d/.yiqiu-k8s" ] || die "$d is not a yiqiu-k8s state dir"
    exec 8>"$d/.cluster.lock"
    flock -w 300 8 || die "another cluster.sh holds $d/.cluster.lock"
    stop_procs "$d"
    clean_state "$d"
    log "stopped; logs kept in $d/*.log"
}

do_env() {
    local d="${1:-$DEFAULT_DIR}"
    [ -f "$d/cluster.env" ] || die "no cluster in $d (run: $0 start $d)"
    print_env "$d"
}

do_status() {
    local d="${1:-$DEFAULT_DIR}" c
    [ -f "$d/cluster.env" ] || { echo "stopped ($d)"; return 1; }
    # shellcheck disable=SC1091
    BIN="$(. "$d/cluster.env" && echo "$YIQIU_K8S_BIN")"
    for c in "${COMPONENTS[@]}"; do
        if pid_alive_ours "$d" "$c"; then echo "$c: running (pid $(cat "$d/$c.pid"))"; else echo "$c: NOT running"; fi
    done
    if cluster_up "$d"; then echo "up: KUBECONFIG=$d/admin.kubeconfig"; else echo "not ready"; return 1; fi
}

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
    local cmd="${1:-}"
    shift || true
    case "$cmd" in
        build) do_build >/dev/null ;;
        start) do_start "$@" ;;
        stop) do_stop "$@" ;;
        env) do_env "$@" ;;
        status) do_status "$@" ;;
        -h | --help | help) usage ;;
        *) usage >&2; return 2 ;;
    esac
}

# One line, so that bash has read all of it before anything runs (the file may change
# under a long build).
main "$@"; exit $?
