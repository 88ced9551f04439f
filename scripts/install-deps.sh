#!/bin/sh
# install-deps.sh: make sure the system packages rnnbench needs are present.
# As root with apt, installs what is missing; otherwise prints the exact
# command to run and fails. Called by `make` (once, through a stamp file).
# Usage: scripts/install-deps.sh [--check]
set -eu

PACKAGES="gcc make pkg-config libhdf5-dev hdf5-tools libcriterion-dev libopenblas-dev libdnnl-dev
libinih-dev libjansson-dev nettle-dev python3 python3-h5py python3-numpy python3-scipy python3-matplotlib python3-torch
python3-pytest python3-pytest-xdist python3-pandas python3-statsmodels python3-sklearn valgrind
libopenmpi-dev openmpi-bin"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: not a Debian system; install the equivalents of: $(echo $PACKAGES)" >&2
    exit 0
fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "install-deps: missing:$missing" >&2
    exit 1
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >&2
    exit 0
fi
echo "install-deps: missing system packages. Run:" >&2
echo "    sudo apt-get install$missing" >&2
exit 1
