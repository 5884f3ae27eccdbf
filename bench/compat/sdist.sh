# Sourced by targets.sh and runme.sh: ansible-core's sdist (the integration targets) from
# PyPI into the cache, once. Needs VERSION, CACHE and VENV; sets TARGETS.
if [[ ! -d $CACHE/test/integration/targets ]]; then
    mkdir -p "$CACHE.dl"
    "$VENV/bin/pip" download "ansible-core==$VERSION" --no-binary :all: --no-deps -q -d "$CACHE.dl"
    tar xzf "$CACHE.dl/ansible_core-$VERSION.tar.gz" -C "$CACHE.dl"
    mv "$CACHE.dl/ansible_core-$VERSION" "$CACHE"
fi
TARGETS=$CACHE/test/integration/targets
