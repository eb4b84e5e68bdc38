#!/bin/sh
# Installs the pinned agent CLIs (package.json + package-lock.json, requirements.txt) into
# DIR (default: target/agents), for the profile check: `npm install` from the registry, aider in
# a venv from PyPI. Node 22 comes from npm's `node` package (claude needs it; the
# system's may be older). Nothing is fetched again while the pins are unchanged; after
# that everything runs offline.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
dir=${1:-$here/../../target/agents}
mkdir -p "$dir"
dir=$(CDPATH='' cd -- "$dir" && pwd)
stamp=$(cat "$here/package.json" "$here/package-lock.json" "$here/requirements.txt" | cksum)
if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
    echo "agents already installed in $dir"
    exit 0
fi
rm -f "$dir/.stamp"
cp "$here/package.json" "$here/package-lock.json" "$dir/"
# `npm ci` rejects this lock, which the same npm just wrote, over the other platforms'
# optional packages (npm/cli#9846); `npm install` keeps to its versions all the same.
(cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
# The system's Python where there is one: the tests run aider as an unprivileged guest
# user, who cannot reach an interpreter under /root (pyenv, say).
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" -m venv --clear "$dir/venv"
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
printf '%s' "$stamp" >"$dir/.stamp"
echo "agents installed in $dir"
