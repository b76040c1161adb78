#!/usr/bin/env bash
# The unit suite on every Python version that pyproject.toml's classifiers name, other than
# .venv's own (scripts/test.sh runs the suite there). Extra arguments go to pytest.
#
# Each version's interpreter is found (pythonX.Y on PATH, or under pyenv's versions) or else
# installed (pyenv install, then uv python install); a version that cannot be had fails the
# run, as does its suite. Each version gets a venv outside the checkout, under
# $TCDYN_PYTHONS_DIR (default /var/tmp/tcdyn-pythons): one per checkout and version, made
# again only when pyproject.toml or the interpreter changes (pip's own cache makes a new one
# quick). TCDYN_PYTHONS="3.12 3.13" overrides the versions; TCDYN_PYTHON_INSTALL=0 forbids
# installing an interpreter. `scripts/pythons.sh --list` prints the versions and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD
cache=${TCDYN_PYTHONS_DIR:-/var/tmp/tcdyn-pythons}
say() { echo "pythons.sh: $*" >&2; }

# The classifiers' versions (one list: pyproject.toml), less the one .venv runs.
versions=${TCDYN_PYTHONS:-$(.venv/bin/python - <<'EOF'
import sys, tomllib
classifiers = tomllib.load(open("pyproject.toml", "rb"))["project"]["classifiers"]
prefix = "Programming Language :: Python :: 3."
own = "%d.%d" % sys.version_info[:2]
print(" ".join(c.rsplit(" ", 1)[1] for c in classifiers
               if c.startswith(prefix) and c.rsplit(" ", 1)[1] != own))
EOF
)}

if [ "${1:-}" = --list ]; then
    echo "$versions"
    exit 0
fi

version_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true; }

find_python() {  # an interpreter of version $1, or nothing
    local v=$1 candidate
    for candidate in "$(command -v "python$v" || true)" \
            $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v" 2>/dev/null \
              | sort -V -r); do
        if [ -n "$candidate" ] && [ "$(version_of "$candidate")" = "$v" ]; then
            echo "$candidate"
            return 0
        fi
    done
    if [ -x "$cache/uv/bin/uv" ]; then
        UV_PYTHON_INSTALL_DIR="$cache/uv-pythons" "$cache/uv/bin/uv" python find "$v" \
            2>/dev/null || true
    fi
}

install_python() {  # try pyenv, then uv (installed from PyPI into $cache/uv)
    local v=$1
    if command -v pyenv > /dev/null; then
        say "installing Python $v with pyenv"
        pyenv install --skip-existing "$v" >&2 && return 0
    fi
    if [ ! -x "$cache/uv/bin/uv" ]; then
        .venv/bin/python -m venv "$cache/uv" \
            && "$cache/uv/bin/python" -m pip install -q --disable-pip-version-check uv >&2 \
            || return 1
    fi
    say "installing Python $v with uv"
    UV_PYTHON_INSTALL_DIR="$cache/uv-pythons" "$cache/uv/bin/uv" python install "$v" >&2
}

# A venv of interpreter $2 for version $1 with tcdyn (editable, this checkout) and its test
# extra; printed on stdout.
venv_for() {
    local v=$1 python=$2 key stamp venv
    key=$(printf '%s' "$checkout" | sha256sum | cut -c1-12)
    venv="$cache/venvs/$v-$key"
    stamp="$(sha256sum pyproject.toml | cut -c1-64) $python"
    mkdir -p "$cache/venvs"
    exec 9> "$venv.lock"
    flock 9
    if [ "$(cat "$venv/.tcdyn-stamp" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$venv"
        "$python" -m venv "$venv" >&2
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 \
            | grep -v "^WARNING: Location" >&2 || true
        "$venv/bin/python" -c "import tcdyn" >&2  # fails loudly if the install did not work
        echo "$checkout" > "$venv/.tcdyn-checkout"
        echo "$stamp" > "$venv/.tcdyn-stamp"
    fi
    exec 9>&-
    echo "$venv"
}

# Venvs of checkouts that are gone (CI's clones) are removed.
for old in "$cache"/venvs/*/.tcdyn-checkout; do
    [ -f "$old" ] || continue
    if [ ! -d "$(cat "$old")" ]; then
        rm -rf "$(dirname "$old")" "$(dirname "$old").lock"
    fi
done

[ -n "$versions" ] || { say "no Python version besides .venv's in the classifiers"; exit 0; }
rc=0
for v in $versions; do
    python=$(find_python "$v")
    if [ -z "$python" ] && [ "${TCDYN_PYTHON_INSTALL:-1}" != 0 ]; then
        install_python "$v" || true
        python=$(find_python "$v")
    fi
    if [ -z "$python" ]; then
        say "FAILED: Python $v is not on this machine and could not be installed"
        rc=1
        continue
    fi
    venv=$(venv_for "$v" "$python")
    start=$SECONDS
    say "unit suite on Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())') ($python)"
    # the type checkers' tests read the source, whatever runs pytest: the main suite has them
    if "$venv/bin/python" -m pytest --ignore=tests/real -m "not typecheck" "$@"; then
        say "Python $v: passed in $((SECONDS - start))s"
    else
        say "FAILED: the unit suite on Python $v"
        rc=1
    fi
done
exit "$rc"
