# Shared set-up steps for scripts/serve and scripts/test. Each step is idempotent:
# a second run on the same machine only checks and moves on.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PODIUM_PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*" >&2; }

# Debian packages, installed only where a command (or an absolute path) they provide is missing.
ensure_apt() {
    local missing=()
    while [ $# -gt 0 ]; do
        command -v "$1" >/dev/null 2>&1 || [ -e "$1" ] || missing+=("$2")
        shift 2
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    step "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [ ! -f /var/lib/apt/periodic/podium-updated ]; then
        apt-get update -q && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/podium-updated
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

ensure_venv() {
    local extras="${1:-}" target="$ROOT"
    [ -n "$extras" ] && target="$ROOT[$extras]"
    if [ ! -x "$VENV/bin/python" ]; then
        step "creating $VENV"
        "$PY" -m venv "$VENV"
    fi
    local stamp="$VENV/.installed-${extras:-base}"
    # Podium with extras (scripts/test installs "test,ray") is Podium too: scripts/serve after
    # scripts/test installs nothing.
    if [ -z "$extras" ]; then
        local installed
        for installed in "$VENV"/.installed-*; do
            [ -f "$installed" ] && [ ! "$ROOT/pyproject.toml" -nt "$installed" ] && return 0
        done
    fi
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        step "installing Podium into $VENV ($extras)"
        "$VENV/bin/pip" install -q --upgrade pip
        "$VENV/bin/pip" install -q -e "$target"
        touch "$stamp"
    fi
}

# dockerd has no service manager here: start it in the background and wait for its socket.
ensure_dockerd() {
    if docker info >/dev/null 2>&1; then return 0; fi
    step "starting dockerd"
    mkdir -p /var/log
    # setsid: a test run stopped with its process group must not take the engine with it.
    setsid nohup dockerd >>/var/log/podium-dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && return 0
        sleep 1
    done
    echo "dockerd did not come up in 60 s; see /var/log/podium-dockerd.log" >&2
    tail -n 20 /var/log/podium-dockerd.log >&2 || true
    return 1
}
