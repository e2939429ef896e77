#!/usr/bin/env bash
# Builds tokenclean's release wheel and proves that it works on its own:
#
#   1. `maturin build --release` (or `pip wheel .` when maturin is not installed) for the
#      interpreter $PYTHON (default python3); the wheel must carry a manylinux tag on Linux;
#   2. `twine check --strict` on it (in a throwaway virtualenv);
#   3. a fresh virtualenv gets the wheel and the test dependencies (the `[test]` extra);
#   4. the test suite runs from a temporary copy of tests/ (the package comes from the
#      virtualenv, never from the repository), with a PATH that holds no cargo or rustc,
#      so nothing can be compiled: the wheel alone must pass.
#
# Usage: bash scripts/check_wheel.sh [--keep]     (--keep leaves the work directory behind)
# Environment: PYTHON (interpreter, default python3), CHECK_WHEEL_PYTEST_ARGS (extra pytest
# arguments), CI (set: hypothesis' bounded "ci" profile, as in .ci/run; default true here).
# Exits non-zero on the first failure, after printing a summary.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
PYTHON=${PYTHON:-python3}
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
export CI="${CI:-true}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tokenclean-wheel.XXXXXX")
cleanup() {
    if [ "$KEEP" = 1 ]; then
        echo "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

declare -a SUMMARY=()
note() { SUMMARY+=("$1"); printf '\n==> %s\n' "$1"; }
summary() {
    printf '\n==================== check_wheel summary ====================\n'
    printf '%s\n' "${SUMMARY[@]}"
    printf '=============================================================\n'
}
die() {
    SUMMARY+=("FAILED: $1")
    summary
    exit 1
}
seconds() { echo $(($(date +%s) - $1)); }

# --- 1. build -----------------------------------------------------------------------------
start=$(date +%s)
mkdir -p "$WORK/dist"
if "$PYTHON" -m maturin --version >/dev/null 2>&1; then
    note "building with $("$PYTHON" -m maturin --version): maturin build --release"
    "$PYTHON" -m maturin build --release --interpreter "$PYTHON" --out "$WORK/dist" ||
        die "maturin build failed"
elif command -v maturin >/dev/null 2>&1; then
    note "building with $(maturin --version): maturin build --release"
    maturin build --release --interpreter "$PYTHON" --out "$WORK/dist" || die "maturin build failed"
else
    note "maturin is not installed: pip wheel . --no-deps"
    "$PYTHON" -m pip wheel . --no-deps -w "$WORK/dist" || die "pip wheel failed"
fi
shopt -s nullglob
wheels=("$WORK"/dist/tokenclean-*.whl)
shopt -u nullglob
[ "${#wheels[@]}" -eq 1 ] || die "expected one wheel in $WORK/dist, found ${#wheels[@]}"
WHEEL=${wheels[0]}
NAME=$(basename "$WHEEL")
SIZE=$(du -k "$WHEEL" | cut -f1)
note "built $NAME (${SIZE} KiB) in $(seconds "$start") s"
if [ "$(uname -s)" = Linux ]; then
    case "$NAME" in
    *manylinux*) note "platform tag: manylinux" ;;
    *) die "$NAME has no manylinux tag" ;;
    esac
fi
# the wheel carries the package data and the typing files
contents=$("$PYTHON" -m zipfile -l "$WHEEL")
for f in tokenclean/py.typed tokenclean/_core.pyi tokenclean/data/wnut17_sample.npz \
    tokenclean/data/ATTRIBUTION.md tokenclean/reference.py; do
    grep -q "$f" <<<"$contents" || die "$NAME lacks $f"
done
note "the wheel holds py.typed, _core.pyi, reference.py and the sample data with its attribution"

# --- 2. twine check -------------------------------------------------------------------------
start=$(date +%s)
"$PYTHON" -m venv "$WORK/tools"
"$WORK/tools/bin/python" -m pip install --quiet twine || die "could not install twine"
"$WORK/tools/bin/twine" check --strict "$WHEEL" || die "twine check failed"
note "twine check --strict: PASSED ($(seconds "$start") s)"

# --- 3. a fresh virtualenv with the wheel and the test dependencies ------------------------
start=$(date +%s)
VENV=$WORK/venv
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "tokenclean[test] @ file://$WHEEL" ||
    die "could not install the wheel with its [test] extra"
note "installed ${NAME}[test] into a fresh virtualenv ($(seconds "$start") s)"

# --- 4. the test suite, with no Rust toolchain on PATH ----------------------------------------
# A copy of tests/ in a directory of its own; `shared` next to it, as next to the repository
# (some tests read the shared data from there); reference.py where the differential tests
# look for it (the repository's python/ folder), taken from the installed wheel.
SUITE=$WORK/suite
mkdir -p "$SUITE/python/tokenclean"
cp -R "$REPO/tests" "$SUITE/tests"
rm -rf "$SUITE/tests/__pycache__" "$SUITE/tests/.hypothesis"
cp "$REPO/pyproject.toml" "$SUITE/pyproject.toml" # pytest's configuration
cp "$REPO/README.md" "$SUITE/README.md"             # its examples are tested
if [ -d "$REPO/../shared" ]; then
    ln -s "$(cd "$REPO/../shared" && pwd)" "$WORK/shared"
fi
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cp "$site/tokenclean/reference.py" "$SUITE/python/tokenclean/reference.py"

CLEAN_PATH="$VENV/bin:/usr/bin:/bin"
run_clean() {
    env -i HOME="$HOME" PATH="$CLEAN_PATH" LANG=C.UTF-8 CI="$CI" TMPDIR="${TMPDIR:-/tmp}" \
        ${HYPOTHESIS_PROFILE:+HYPOTHESIS_PROFILE="$HYPOTHESIS_PROFILE"} "$@"
}
for tool in cargo rustc rustup maturin; do
    if run_clean bash -c "command -v $tool" >/dev/null 2>&1; then
        die "$tool is still on the stripped PATH ($CLEAN_PATH): the check would not prove anything"
    fi
done
note "no cargo, rustc, rustup or maturin on PATH=$CLEAN_PATH"

where=$(cd "$SUITE" && run_clean python -c 'import tokenclean, sys; print(tokenclean.__file__)')
case "$where" in
"$VENV"/*) note "tokenclean imports from the virtualenv: $where" ;;
*) die "tokenclean was imported from $where, not from the virtualenv" ;;
esac

start=$(date +%s)
(cd "$SUITE" && run_clean tokenclean demo --top 3 >/dev/null) || die "tokenclean demo failed"
set +e
# shellcheck disable=SC2086
(cd "$SUITE" && run_clean python -m pytest -q -p no:cacheprovider ${CHECK_WHEEL_PYTEST_ARGS:-} tests) \
    2>&1 | tee "$WORK/pytest.log"
status=${PIPESTATUS[0]}
set -e
result=$(grep -E '^(=+ )?[0-9]+ (passed|failed)' "$WORK/pytest.log" | tail -n 1 | tr -d '=' | xargs || true)
if [ "$status" -ne 0 ]; then
    die "the test suite failed against the installed wheel (exit $status): $result"
fi
note "test suite against the wheel, no Rust on PATH: PASSED ($result; $(seconds "$start") s)"
summary
