#!/usr/bin/env bash
# README's first command: runs the bundled planet-graph project (seed 002) on Kubernetes.
#
#   bash example.sh                  build yiqiu-play, then `yiqiu-play site.yaml`
#   bash example.sh --tags debug     any yiqiu-play arguments are passed on
#
# With KUBECONFIG set, that cluster is used. Without it, the project's local test cluster
# is started (tests/k8s/cluster.sh: Debian's Kubernetes 1.20 control plane with a node
# stand-in, no kubelet); the first start builds it from Debian's source package, about
# 12 minutes on 2 cores, cached after that. Demo data bins are put in place when the data
# directory ($PLANET_GRAPH_DATA_DIR, default /tmp/planet-graph-demo/data) has none.
set -euo pipefail
cd "$(dirname "$0")"

# The ssh2 crate links OpenSSL: install its headers where apt can (as .ci/run does).
if ! pkg-config --exists openssl 2>/dev/null; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    if command -v apt-get >/dev/null; then
        echo "example.sh: installing the build prerequisites (libssl-dev pkg-config zlib1g-dev)" >&2
        $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends \
            libssl-dev pkg-config zlib1g-dev >/dev/null
    else
        echo "example.sh: install OpenSSL headers and pkg-config first (Debian: libssl-dev pkg-config)" >&2
        exit 1
    fi
fi
cargo build --release --locked --bins
if [ -z "${KUBECONFIG:-}" ]; then
    bash tests/k8s/cluster.sh start >&2
    eval "$(bash tests/k8s/cluster.sh env)"
fi
export KUBECONFIG
export PLANET_GRAPH_DATA_DIR="${PLANET_GRAPH_DATA_DIR:-/tmp/planet-graph-demo/data}"
bins="$PLANET_GRAPH_DATA_DIR/data_bin"
if [ ! -e "$bins/data_stable.bin" ]; then
    mkdir -p "$bins"
    printf 'demo data bin\n' >"$bins/data_stable.bin"
    printf 'demo license\n' >"$bins/planetgraph.lic"
    printf 'server.port=8080\nspring.datasource.url=jdbc:mysql://planet-graph-mysql:3306/planet_graph\n' \
        >"$bins/application.properties"
    echo "example.sh: demo data bins written to $bins" >&2
fi
exec ./target/release/yiqiu-play site.yaml "$@"
