# shimctl egress stage: run by the sandbox launcher (shell/sandbox.bash) as the first
# process of a PID namespace of its own, when the config has an [egress] table:
#   egress.bash RUN_DIR BLOCKED_MESSAGE N_FORWARDS PORT...
# It starts the proxy (tinyproxy, filter in RUN_DIR/filter, reached only through a Unix
# socket), a bridge per `localhost:PORT` rule, and a reader that says each refusal once,
# while the launcher builds the sandbox; at the launcher's go (a byte on the lifeline,
# fd 6) it reads RUN_DIR/words (N, then N words of bubblewrap, then the agent's command,
# NUL-terminated) and runs the sandbox, with no network of its own. When this process
# ends, the kernel ends every other process of the namespace: nothing here outlives the
# launcher.

set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
stage=$$
run=$1 blocked_message=$2
shift 2
forwards=("${@:2:$1}")
shift $((1 + $1))

# Leaving ends the namespace's other processes first: bubblewrap's init (pid 1) waits for
# every process left, and once the launcher is gone nothing else would end them.
# kill(-1) reaches every process of the namespace but its init and the caller; only when
# this stage is the namespace's first command (pid 2), never in the VM's own namespace.
leave() {
  if [ "$stage" = 2 ]; then kill -KILL -1 2>/dev/null; fi
  exit "$1"
}
fail() {
  printf 'shimctl: %s\n' "$1" >&2
  leave 125
}

# Waiting in steps of a few milliseconds without a process per step, on the lifeline: the
# launcher's go (one byte, `g`, so a timeout cannot split it) may come while it waits and
# is kept for below; its end of file ends this stage.
go=""
nap() {
  local byte="" s
  IFS= read -r -N 1 -t 0.003 -u 6 byte
  s=$?
  # A byte read as the timeout fired comes back with the timeout's status.
  [ -z "$byte" ] || go=$byte
  if [ $s != 0 ] && [ $s -le 128 ]; then leave 125; fi
}

# The helpers run in a session of their own, so the terminal's Ctrl-C (the agent's) does
# not stop them.
helper() { exec setsid -- "$@" 6<&-; }

: >"$run/log"
proxy_pid=""
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
  # use-after-free reachable that way, CVE-2023-49606): no new privileges, a read-only
  # system, only its own directory to write.
  (helper bwrap --unshare-user --disable-userns --unshare-ipc --ro-bind / / --dev /dev \
    --proc /proc --tmpfs /tmp --bind "$run" "$run" -- tinyproxy -d -c "$run/tinyproxy.conf" \
    >/dev/null 2>&1) &
  proxy_pid=$!
}
proxy_ready() { # its port answers; it fails when the port was taken
  local i
  for ((i = 0; i < 1500; i++)); do
    kill -0 "$proxy_pid" 2>/dev/null || return 1
    (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    nap
  done
  kill "$proxy_pid" 2>/dev/null
  return 1
}
launch_proxy

# Each refusal is said once, on the agent's stderr, with the line that would allow it.
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
    # shellcheck disable=SC2059 # the shim writes the format (with %% for a literal %)
    printf "$blocked_message\n" "$target" "$rule" >&2
  done
}
(helper tail -n +1 -F "$run/log" 2>/dev/null) > >(say_refusals 6<&-) &

# The bridge to the proxy starts with it, not after: socat connects to the port only when
# the sandbox does, which is after the proxy answers.
launch_bridge() {
  (helper socat "UNIX-LISTEN:$run/sandbox/proxy.sock,fork,mode=600" "TCP:127.0.0.1:$port" 2>/dev/null) &
  bridge_pid=$!
}
launch_bridge
started=""
for ((try = 0; try < 10; try++)); do
  if proxy_ready; then started=1; break; fi
  # The port was taken: another, and the bridge follows it.
  kill "$bridge_pid" 2>/dev/null
  wait "$bridge_pid" 2>/dev/null
  rm -f -- "$run/sandbox/proxy.sock"
  launch_proxy
  launch_bridge
done
# The launcher's go. Before it, its end of file (the launcher gone) makes this stage leave;
# after it, the watcher ends the namespace.
if [ -z "$go" ] && ! IFS= read -r -N 1 -u 6 go; then leave 125; fi
[ "$go" = g ] || fail "egress: the launcher sent no go (the shim and the launcher disagree; reinstall shimctl)"
(read -r -u 6 _; if [ "$stage" = 2 ]; then kill -KILL -1; else kill -KILL "$stage"; fi) 2>/dev/null &
mapfile -d '' -t words <"$run/words"
n=${words[0]-}
if ! [[ $n =~ ^[0-9]+$ ]] || [ "${#words[@]}" -le $((n + 1)) ]; then
  fail "egress: the launcher's words are missing (the shim and the launcher disagree; reinstall shimctl)"
fi
sandbox=("${words[@]:1:n}")
agent=("${words[@]:n+1}")

[ -n "$started" ] || fail "egress: the proxy (tinyproxy) did not start; see: tinyproxy -d -c /dev/null"

sockets=("$run/sandbox/proxy.sock")
# `localhost:PORT` rules: the VM's own port, reached from the same port inside.
for fport in "${forwards[@]}"; do
  [[ $fport =~ ^[0-9]+$ ]] || fail "egress: bad port $fport"
  (helper socat "UNIX-LISTEN:$run/sandbox/forward-$fport.sock,fork,mode=600" "TCP:127.0.0.1:$fport" 2>/dev/null) &
  sockets+=("$run/sandbox/forward-$fport.sock")
done
for sock in "${sockets[@]}"; do
  for ((i = 0; i < 1500; i++)); do
    [ -S "$sock" ] && break
    nap
  done
  [ -S "$sock" ] || fail "egress: the socket $sock (socat) did not appear"
done
exec 6<&-

# Inside: the proxy on 127.0.0.1:3128 (and each forwarded port) through the waiter's own
# bridges, then the agent. The waiter's text comes in SHIMCTL_WAITER, which it removes.
bridges=(--bridge 3128 /tmp/.shimctl/proxy.sock)
for fport in "${forwards[@]}"; do bridges+=(--bridge "$fport" "/tmp/.shimctl/forward-$fport.sock"); done
exec "${sandbox[@]}" \
  --setenv http_proxy http://127.0.0.1:3128 \
  --setenv https_proxy http://127.0.0.1:3128 \
  --setenv HTTP_PROXY http://127.0.0.1:3128 \
  --setenv HTTPS_PROXY http://127.0.0.1:3128 \
  --setenv ALL_PROXY http://127.0.0.1:3128 \
  --setenv all_proxy http://127.0.0.1:3128 \
  --setenv NO_PROXY localhost,127.0.0.1,::1 \
  --setenv no_proxy localhost,127.0.0.1,::1 \
  --setenv NODE_USE_ENV_PROXY 1 \
  -- /usr/bin/perl -e "$SHIMCTL_WAITER" -- "${bridges[@]}" -- "${agent[@]}"
