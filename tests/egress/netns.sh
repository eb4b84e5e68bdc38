#!/bin/bash
# Run by tests/e2e/egress.rs as root, inside `unshare --net --mount --pid`: a throwaway
# network, mount and process namespace, so nothing here touches the machine's own network or files.
# Usage: netns.sh DIR USER PROJECT HOME PATH -- GUEST COMMAND...
# Sets up loopback, the VM host's address (192.168.5.2) on it, the test's /etc/hosts and
# sudoers, a user runtime dir with a systemd bus and a Docker socket stand-in, starts
# servers.py, then runs the guest command as USER in PROJECT, the way Lima's login shell
# would (after cd).
set -eu
dir=$1 user=$2 project=$3 home=$4 guest_path=$5
shift 5
[ "$1" = -- ] && shift
here=$(dirname "$0")
uid=$(id -u "$user")
gid=$(id -g "$user")

ip link set lo up
ip addr add 192.168.5.2/32 dev lo
mount --bind "$dir/hosts" /etc/hosts
# The guest user may sudo without a password, as Lima's default user does.
if [ -d /etc/sudoers.d ]; then
  mkdir -p "$dir/sudoers.d"
  echo "$user ALL=(ALL) NOPASSWD: ALL" >"$dir/sudoers.d/guest"
  chmod 440 "$dir/sudoers.d/guest"
  mount --bind "$dir/sudoers.d" /etc/sudoers.d
fi
mount -t tmpfs tmpfs /run
# A VM without bubblewrap (made before egress): the start must fail, not run unfiltered.
if [ -n "${HIDE_BWRAP-}" ]; then mount --bind /dev/null /usr/bin/bwrap; fi
mkdir -p "/run/user/$uid"
chown "$uid:$gid" "/run/user/$uid"
chmod 700 "/run/user/$uid"

/usr/bin/python3 "$here/servers.py" "$dir" &
servers=$!
for _ in $(seq 200); do [ -e "$dir/ready" ] && break; sleep 0.05; done

as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups -- env PATH=/usr/bin:/bin "$@"; }
# The systemd user bus and rootless Docker's socket: listeners the agent must not reach.
setpriv --reuid="$uid" --regid="$gid" --clear-groups -- /usr/bin/python3 -c '
import os, socket, sys, time
socks = []
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(8)
    socks.append(s)
time.sleep(120)' "/run/user/$uid/bus" "/run/user/$uid/docker.sock" &
listeners=$!
for _ in $(seq 200); do [ -S "/run/user/$uid/docker.sock" ] && break; sleep 0.05; done

# Controls: outside the sandbox, the same user can do what the agent must not.
control() { if as_user "$@" >/dev/null 2>&1; then echo "control $1 works"; else echo "control $1 fails"; fi; }
if [ -x /usr/bin/sudo ]; then control sudo -n true; fi
control curl -sS --max-time 5 --noproxy '*' http://192.168.5.2:8000/
control /usr/bin/python3 -c "import socket; socket.socket(socket.AF_UNIX).connect('/run/user/$uid/docker.sock')"

cd "$project"
status=0
# The variables Lima would forward (DIR/guest-env, NAME=value per line).
forwarded=()
if [ -f "$dir/guest-env" ]; then mapfile -t forwarded <"$dir/guest-env"; fi
as_user env -i HOME="$home" PATH="$guest_path" LANG=C.UTF-8 "${forwarded[@]}" "$@" </dev/null || status=$?
echo "guest-exit $status"
kill "$servers" "$listeners" 2>/dev/null
wait 2>/dev/null
exit 0
