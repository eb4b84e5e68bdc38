# shimctl egress launcher. The shim sends this script with every agent start when the
# config has an [egress] table, as `/bin/bash -c SCRIPT shimctl-egress OPTIONS -- AGENT ARGS`,
# so the VM always runs the launcher of the shimctl that started it; nothing here is
# installed in the guest, only the engines it drives (bubblewrap, socat, tinyproxy, perl).
#
# Outside the sandbox, as the guest user: a tinyproxy whose filter is the policy computed
# on the host, reached through a Unix socket (socat). Inside: bubblewrap with no network
# but loopback, no new privileges, / read-only, the home writable except the files that
# run before or outside the sandbox, the VM's writable shares writable, and a socat that
# turns 127.0.0.1:3128 into that socket. docs/egress.md explains each choice.
#
# Exit status: the agent's, or death by the agent's signal, as without egress; 125 when
# the sandbox cannot be set up (nothing ran).

set -u
# Absolute tools only: the agent can write the home, and so PATH directories in it.
agent_path=${PATH-}
PATH=/usr/sbin:/usr/bin:/sbin:/bin

fail() {
  printf 'shimctl: %s\n' "$1" >&2
  exit 125
}

filters=() protect=() shares=() forwards=() container_socket="" agent="agent" vm="the VM" config="the config file"
while [ $# -gt 0 ]; do
  case $1 in
  --filter) filters+=("$2"); shift 2 ;;
  --protect) protect+=("$2"); shift 2 ;;
  --share) shares+=("$2"); shift 2 ;;
  --forward) forwards+=("$2"); shift 2 ;;
  --agent) agent=$2; shift 2 ;;
  --vm) vm=$2; shift 2 ;;
  --config) config=$2; shift 2 ;;
  --container-socket) container_socket=1; shift ;;
  --) shift; break ;;
  *) fail "egress launcher: unknown option $1 (the shim and the launcher disagree; reinstall shimctl)" ;;
  esac
done
[ $# -gt 0 ] || fail "egress launcher: no command"

for tool in bwrap socat tinyproxy perl setsid setpriv; do
  found=$(command -v "$tool") || found=""
  if [ ! -f "$found" ] || [ ! -x "$found" ]; then
    fail "egress needs $tool in VM \`$vm\` (bubblewrap, socat, tinyproxy, perl); install them: shimctl vm provision"
  fi
done
if [ -z "${HOME-}" ] || [ ! -d "$HOME" ] || [ "$HOME" = / ]; then
  fail "egress: the guest user has no home directory (HOME=${HOME-})"
fi
uid=$UID
# Mount points must be real directories: bubblewrap cannot mount on a symbolic link.
home=$(realpath -e -- "$HOME") || fail "egress: cannot resolve the home directory $HOME"

# The proxy's files go where no share can reach: the user's runtime directory (a tmpfs that
# the sandbox sees empty), else /tmp (the sandbox has its own).
base=/tmp
[ -d "/run/user/$uid" ] && [ -w "/run/user/$uid" ] && base=/run/user/$uid
run=$(mktemp -d "$base/shimctl-egress.XXXXXXXX") || fail "egress: cannot make a private directory in $base in VM \`$vm\`"
# A launcher killed outright (SIGKILL, a crash) could not remove its directory: the next
# start does, once the process named there is gone (a pid means something only in its own
# PID namespace, so that is written too).
pidns=$(stat -L -c %i /proc/self/ns/pid 2>/dev/null) || pidns=unknown
echo "$$ $pidns" >"$run/pid"
for old in "$base"/shimctl-egress.*/pid; do
  if [ ! -f "$old" ] || [ "$old" = "$run/pid" ] || ! read -r owner owner_ns <"$old"; then continue; fi
  if [[ $owner =~ ^[0-9]+$ ]] && [ "$owner_ns" = "$pidns" ] && ! kill -0 "$owner" 2>/dev/null; then
    rm -rf -- "${old%/pid}"
  fi
done
mkdir "$run/sandbox"
# Waiting in steps of a few milliseconds without starting a process for each: read with a
# time limit from a FIFO nobody writes.
mkfifo "$run/tick"
exec 9<>"$run/tick"
nap() { read -r -t 0.003 -u 9 _ || :; }
pids=() proxy_pid=""
cleanup() {
  # Not waited for: each also dies with this shell (pdeathsig), and the agent's exit
  # status should not wait for the proxy's shutdown.
  kill "${pids[@]}" ${proxy_pid:+"$proxy_pid"} 2>/dev/null
  pids=() proxy_pid=""
  rm -rf -- "$run"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 143' TERM

# The helpers run in a session of their own, so the terminal's Ctrl-C (meant for the
# agent) does not stop them, and die with this shell even when it is killed outright.
helper() {
  exec setsid setpriv --pdeathsig TERM -- "$@" 9<&-
}

# The proxy: tinyproxy on a free loopback port of the guest, which only the socket below
# leads to. Its filter holds one anchored extended regex per line (written by the shim:
# `host:port` for CONNECT, `http://host[:port]/` for plain HTTP).
printf '%s\n' "${filters[@]}" >"$run/filter"
: >"$run/log"
launch_proxy() {
  port=$((20000 + RANDOM % 40000))
  cat >"$run/tinyproxy.conf" <<EOF
Port $port
Listen 127.0.0.1
Timeout 600
MaxClients 200
LogFile "$run/log"
LogLevel Notice
Allow 127.0.0.1
Filter "$run/filter"
FilterType ere
FilterURLs On
FilterCaseSensitive No
FilterDefaultDeny Yes
DisableViaHeader Yes
EOF
  # The proxy parses what the agent sends, outside the sandbox (tinyproxy 1.11.1 had a
  # use-after-free reachable that way, CVE-2023-49606): it gets the network but no new
  # privileges (no sudo), a read-only system and only its own directory to write.
  helper bwrap --die-with-parent --unshare-user --disable-userns --unshare-pid --unshare-ipc \
    --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --bind "$run" "$run" \
    -- tinyproxy -d -c "$run/tinyproxy.conf" >/dev/null 2>&1 &
  proxy_pid=$!
}
# Ready when its port answers; it fails when the port was taken.
proxy_ready() {
  local i
  for ((i = 0; i < 1500; i++)); do
    kill -0 "$proxy_pid" 2>/dev/null || return 1
    (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    nap
  done
  kill "$proxy_pid" 2>/dev/null
  return 1
}
# Started now, checked below: it boots while the sandbox is prepared.
launch_proxy


# What runs before the sandbox (sshd, the login shell, the user manager) must not be
# changeable from inside it. A missing file is created first, so it can be mounted
# read-only: the agent could otherwise create it. Bash reads only the first of
# ~/.bash_profile, ~/.bash_login, ~/.profile, so a missing ~/.bash_profile gets the line
# that keeps that order instead of an empty file.
binds=() files=()
pinned=" "
pin_parents() {
  # A directory holding a protected path is bound onto itself, so it is a mount point:
  # renaming it away (to put a new unprotected one in its place) fails with EBUSY.
  local rel=$1 dir=$home
  while [ "${rel#*/}" != "$rel" ]; do
    dir=$dir/${rel%%/*}
    rel=${rel#*/}
    [ -n "$rel" ] || break
    if [ "${pinned#* "$dir" }" = "$pinned" ]; then
      mkdir -p -- "$dir" || fail "egress: cannot create $dir"
      binds+=(--bind "$dir" "$dir")
      pinned="$pinned$dir "
    fi
  done
}
# shellcheck disable=SC2016 # the lines written keep $HOME for bash to expand
for rel in "${protect[@]}"; do
  path=$home/${rel%/}
  show="\$HOME/${rel%/}"
  pin_parents "$rel"
  if [ -L "$path" ]; then
    fail "egress cannot protect $show in VM \`$vm\`: it is a symbolic link, which the agent could replace; make it a regular file or directory"
  fi
  if [ "${rel%/}" != "$rel" ]; then
    [ -e "$path" ] || (umask 077 && mkdir -p -- "$path") || fail "egress: cannot create $show"
  elif [ ! -e "$path" ]; then
    if [ "$rel" = .bash_profile ]; then
      {
        echo '# Written by shimctl egress, which protects this file from the agent. Bash reads'
        echo '# only the first of ~/.bash_profile, ~/.bash_login and ~/.profile; this keeps that order.'
        if [ -e "$HOME/.bash_login" ]; then echo '. "$HOME/.bash_login"'
        elif [ -e "$HOME/.profile" ]; then echo '. "$HOME/.profile"'; fi
      } >"$path" || fail "egress: cannot create $show"
    else
      : >"$path" || fail "egress: cannot create $show"
    fi
  fi
  [ -f "$path" ] && files+=("$path")
  binds+=(--ro-bind "$path" "$path")
done
# A file with another hard link could be changed through that other name; one stat for all.
if [ ${#files[@]} -gt 0 ]; then
  while read -r links name; do
    [ "$links" -le 1 ] ||
      fail "egress cannot protect \$HOME/${name#"$home"/} in VM \`$vm\`: it has other hard links, through which it could be changed"
  done < <(stat -c '%h %n' -- "${files[@]}")
fi

# Container engines start what they are asked to outside this sandbox, so their sockets
# (and the user's systemd and D-Bus, which can do the same) are hidden unless the user
# opted in.
hide=(--tmpfs /tmp)
if [ -d "/run/user/$uid" ]; then
  hide+=(--perms 0700 --tmpfs "/run/user/$uid")
  if [ -n "$container_socket" ]; then
    for sock in "/run/user/$uid/docker.sock" "/run/user/$uid/podman/podman.sock"; do
      [ -S "$sock" ] && hide+=(--bind "$sock" "$sock")
    done
  fi
fi
for sock in /run/docker.sock /run/containerd/containerd.sock /run/podman/podman.sock /run/dbus/system_bus_socket; do
  if [ -S "$sock" ] && { [ -z "$container_socket" ] || [ "$sock" = /run/dbus/system_bus_socket ]; }; then
    hide+=(--ro-bind /dev/null "$sock")
  fi
done

share_binds=()
for share in "${shares[@]}"; do
  real=$(realpath -e -- "$share" 2>/dev/null) && [ -d "$real" ] && share_binds+=(--bind "$real" "$real")
done

started=""
for ((try = 0; try < 10; try++)); do
  if proxy_ready; then started=1; break; fi
  launch_proxy
done
[ -n "$started" ] || fail "egress: the proxy (tinyproxy) did not start in VM \`$vm\`; see: tinyproxy -d -c /dev/null"

helper socat "UNIX-LISTEN:$run/sandbox/proxy.sock,fork,mode=600" "TCP:127.0.0.1:$port" 2>/dev/null &
pids+=($!)
# `localhost:PORT` rules: the VM's own port, reached from the same port inside.
for fport in "${forwards[@]}"; do
  [[ $fport =~ ^[0-9]+$ ]] || fail "egress launcher: bad port $fport"
  helper socat "UNIX-LISTEN:$run/sandbox/forward-$fport.sock,fork,mode=600" "TCP:127.0.0.1:$fport" 2>/dev/null &
  pids+=($!)
done

# Each refusal is said once, on the agent's stderr, with the line that would allow it.
# tail and the reader are both children of this shell, so cleanup stops both.
say_refusals() {
  local line target host port rule
  declare -A said
  while IFS= read -r line; do
    case $line in *'Proxying refused on filtered url "'*) ;; *) continue ;; esac
    target=${line#*filtered url \"}
    target=${target%\"*}
    target=${target//[^[:graph:]]/?}
    case $target in
    http://*) target=${target#http://}; target=${target%%/*}; [ "${target#*:}" != "$target" ] || target=$target:80 ;;
    esac
    host=${target%:*}
    port=${target##*:}
    [ -z "${said[$target]-}" ] || continue
    said[$target]=1
    rule=$host
    case $port in 80 | 443) ;; *) rule=$host:$port ;; esac
    printf 'shimctl: egress blocked %s for %s; to allow it, add "%s" to allow = [...] under [egress] (or [agents.%s.egress]) in %s\n' \
      "$target" "$agent" "$rule" "$agent" "$config" >&2
  done
}
mkfifo "$run/refusals"
helper tail -n +1 -F "$run/log" >"$run/refusals" 2>/dev/null &
pids+=($!)
say_refusals <"$run/refusals" &
pids+=($!)

sockets=("$run/sandbox/proxy.sock")
for fport in "${forwards[@]}"; do sockets+=("$run/sandbox/forward-$fport.sock"); done
for sock in "${sockets[@]}"; do
  for ((i = 0; i < 1500; i++)); do
    [ -S "$sock" ] && break
    nap
  done
  [ -S "$sock" ] || fail "egress: the socket $sock (socat) did not appear in VM \`$vm\`"
done

# Inside: the loopback proxy, then the waiter, which runs the agent and writes how it
# ended (a signal cannot cross bubblewrap, which turns it into 128+N).
# shellcheck disable=SC2016 # run by the sandbox's bash
inner='
socat TCP-LISTEN:3128,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:/tmp/.shimctl-egress/proxy.sock 2>/dev/null &
for f in /tmp/.shimctl-egress/forward-*.sock; do
  [ -S "$f" ] || continue
  p=${f##*/forward-}
  socat "TCP-LISTEN:${p%.sock},bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$f" 2>/dev/null &
done
mkfifo /tmp/.shimctl-tick && exec 9<>/tmp/.shimctl-tick && rm /tmp/.shimctl-tick
for ((i = 0; i < 1500; i++)); do
  grep -q "^ *[0-9]*: 0100007F:0C38 00000000:0000 0A" /proc/net/tcp && break
  read -r -t 0.003 -u 9 _
done
exec 9<&-
PATH=$SHIMCTL_AGENT_PATH
unset SHIMCTL_AGENT_PATH
exec /usr/bin/perl -e "$SHIMCTL_WAITER" -- "$@"
'
# shellcheck disable=SC2016 # Perl, not shell: its variables are its own.
waiter='
use POSIX ();
my $status_file = "/tmp/.shimctl-egress/status";
delete $ENV{SHIMCTL_WAITER};
$SIG{INT} = $SIG{QUIT} = "IGNORE";
my $pid = fork() // do { print STDERR "shimctl: egress: cannot fork: $!\n"; exit 125 };
if ($pid == 0) {
  $SIG{INT} = $SIG{QUIT} = "DEFAULT";
  { exec { $ARGV[0] } @ARGV; }
  my $code = $!{ENOENT} ? 127 : 126;
  print STDERR "$ARGV[0]: ", ($code == 127 ? "command not found" : "$!"), "\n";
  POSIX::_exit($code);
}
$SIG{TERM} = $SIG{HUP} = sub { kill $_[0], $pid };
my $w;
do { $w = waitpid($pid, 0) } while ($w == -1 && $!{EINTR});
my $st = $?;
my $report = ($st & 127) ? "signal " . ($st & 127) : "exit " . ($st >> 8);
if (open(my $fh, ">", $status_file)) { print $fh "$report\n"; close $fh; }
exit(($st & 127) ? 128 + ($st & 127) : $st >> 8);
'

# Ctrl-C and Ctrl-\ are the agent's to handle (the waiter gives them back to it); this
# shell learns how the agent ended from the status file.
trap '' INT QUIT
SHIMCTL_AGENT_PATH=$agent_path SHIMCTL_WAITER=$waiter bwrap \
  --die-with-parent \
  --unshare-all --unshare-user --disable-userns \
  --ro-bind / / \
  --dev /dev \
  --proc /proc \
  "${hide[@]}" \
  --bind "$home" "$home" \
  "${share_binds[@]}" \
  "${binds[@]}" \
  --bind "$run/sandbox" /tmp/.shimctl-egress \
  --setenv http_proxy http://127.0.0.1:3128 \
  --setenv https_proxy http://127.0.0.1:3128 \
  --setenv HTTP_PROXY http://127.0.0.1:3128 \
  --setenv HTTPS_PROXY http://127.0.0.1:3128 \
  --setenv ALL_PROXY http://127.0.0.1:3128 \
  --setenv all_proxy http://127.0.0.1:3128 \
  --setenv NO_PROXY localhost,127.0.0.1,::1 \
  --setenv no_proxy localhost,127.0.0.1,::1 \
  --setenv NODE_USE_ENV_PROXY 1 \
  -- /bin/bash -c "$inner" shimctl-sandbox "$@" 9<&-
bwrap_status=$?

report=""
if [ -f "$run/sandbox/status" ] && [ ! -L "$run/sandbox/status" ]; then
  IFS= read -r report <"$run/sandbox/status"
fi
cleanup
case $report in
"exit "[0-9] | "exit "[0-9][0-9] | "exit "[0-9][0-9][0-9]) exit "${report#exit }" ;;
"signal "[0-9] | "signal "[0-9][0-9])
  sig=${report#signal }
  trap - "$sig" 2>/dev/null
  kill -"$sig" $$ 2>/dev/null
  exit $((128 + sig))
  ;;
esac
fail "egress: the sandbox (bubblewrap) could not start the agent in VM \`$vm\` (status $bwrap_status); check: shimctl doctor"
