# Shared set-up for scripts/run and scripts/test (sourced, not executed).
#
# Idempotent and fast when already done: each step writes a stamp keyed on a hash of what it
# installed from (pyproject.toml, the extra packages, package-lock.json), and is skipped while the
# stamp matches. Network use is limited to PyPI, npm and Debian's apt.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON_BIN="${PYTHON:-python3}"
STAMPS="$VENV/.iii-stamps"
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

section() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

apt_install() {
    section "Installing $* with apt-get"
    if ! { as_root apt-get update -qq && as_root apt-get install -y -qq "$@"; }; then
        echo "error: could not install $* (needs root or password-less sudo)." >&2
        echo "       install it yourself: sudo apt-get install -y $*" >&2
        return 1
    fi
}

ensure_venv() {
    if [ -x "$VENV/bin/python" ]; then return; fi
    section "Creating the virtualenv $VENV"
    if ! "$PYTHON_BIN" -m venv "$VENV" 2>/dev/null; then
        # Debian ships venv/ensurepip separately.
        rm -rf "$VENV"
        apt_install python3-venv
        "$PYTHON_BIN" -m venv "$VENV"
    fi
}

# ensure_python_packages NAME PIP_ARGS...: pip install once per hash of the pyproject.toml files
# and the arguments.
ensure_python_packages() {
    local name="$1"; shift
    local key
    key="$( { cat "$ROOT/pyproject.toml" "$ROOT"/examples/*/pyproject.toml 2>/dev/null; echo "$*"; } \
        | sha256sum | cut -c1-16)"
    mkdir -p "$STAMPS"
    if [ -f "$STAMPS/$name-$key" ]; then return; fi
    section "Installing Python packages ($name)"
    (cd "$ROOT" && "$VENV/bin/python" -m pip install -q "$@")
    rm -f "$STAMPS/$name-"*
    touch "$STAMPS/$name-$key"
}

ensure_engine() {
    ensure_venv
    ensure_python_packages engine -e ".[dev,redis,uvloop]"
}

ensure_test_tools() {
    ensure_engine
    ensure_python_packages compat "iii-sdk==0.23.0"
    ensure_sdk025
    ensure_example_plugins
    ensure_node_packages "$ROOT/tests/compat/node"
    ensure_quickstart
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install redis-server
    fi
    # The stream example's browser test drives a real headless Chromium through chromedriver.
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
        apt_install chromium chromium-driver
    fi
}

# Example plugin packages (examples/*/pyproject.toml) are installed so their tests find them
# through the `iii` entry-point group, exactly as a user would install a third-party plugin.
ensure_example_plugins() {
    local args=() dir
    for dir in "$ROOT"/examples/*/; do
        if [ -f "$dir/pyproject.toml" ]; then args+=(-e "${dir%/}"); fi
    done
    if [ "${#args[@]}" -eq 0 ]; then return; fi
    ensure_python_packages examples --no-deps "${args[@]}"
}

# ensure_node_packages DIR: npm ci (or npm install without a lock file) once per lock hash.
ensure_node_packages() {
    local dir="$1"
    if [ ! -f "$dir/package.json" ]; then return; fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is required for the Node compatibility tests (install node 20 and npm)" >&2
        return 1
    fi
    local key; key="$(hash_of "$dir/package.json" "$dir/package-lock.json")"
    if [ -f "$dir/node_modules/.iii-stamp-$key" ]; then return; fi
    section "Installing Node packages in ${dir#"$ROOT"/}"
    if [ -f "$dir/package-lock.json" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    else
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
    rm -f "$dir/node_modules/.iii-stamp-"*
    touch "$dir/node_modules/.iii-stamp-$key"
}

# ensure_quickstart: the quickstart's Node packages, and its TypeScript caller-worker
# (caller_worker.ts) compiled to examples/quickstart/dist/caller_worker.js by the example's own
# tsc (once per hash of the sources).
ensure_quickstart() {
    local dir="$ROOT/examples/quickstart"
    ensure_node_packages "$dir"
    local key; key="$(hash_of "$dir"/*.ts "$dir/tsconfig.json" "$dir/package-lock.json")"
    if [ -f "$dir/dist/.iii-stamp-$key" ] && [ -f "$dir/dist/caller_worker.js" ]; then return; fi
    section "Compiling the quickstart's TypeScript worker"
    (cd "$dir" && npm run --silent build) || return 1
    rm -f "$dir/dist/.iii-stamp-"*
    touch "$dir/dist/.iii-stamp-$key"
}

# ensure_sdk025: the official Python SDK 0.25 in a virtualenv of its own (.venv-sdk025; 0.23 and
# 0.25 share the import name `iii`), with its source distribution unpacked in .venv-sdk025/src so
# tests/compat/sdk025 can run the SDK's own engine-facing tests against our engine.
SDK025_VERSION="0.25.0"
ensure_sdk025() {
    local venv="$ROOT/.venv-sdk025"
    local key="$SDK025_VERSION-1"
    if [ -f "$venv/.iii-stamp-$key" ] && [ -d "$venv/src/iii_sdk-$SDK025_VERSION/tests" ]; then
        return
    fi
    section "Installing iii-sdk==$SDK025_VERSION and its test suite in ${venv#"$ROOT"/}"
    rm -rf "$venv"
    "$PYTHON_BIN" -m venv "$venv"
    "$venv/bin/python" -m pip install -q "iii-sdk==$SDK025_VERSION" "iii-helpers==$SDK025_VERSION" \
        "pytest>=8" "pytest-asyncio>=0.23" "aiohttp>=3.9"
    mkdir -p "$venv/src"
    "$venv/bin/python" -m pip download -q --no-deps --no-binary :all: \
        "iii-sdk==$SDK025_VERSION" -d "$venv/src"
    tar -xzf "$venv/src/iii_sdk-$SDK025_VERSION.tar.gz" -C "$venv/src"
    touch "$venv/.iii-stamp-$key"
}
