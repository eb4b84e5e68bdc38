# shimctl sandbox launcher. The shim sends this script with every agent start, as
# `/bin/bash -c SCRIPT shimctl-sandbox OPTIONS -- AGENT ARGS`, so the VM always runs the
# launcher of the shimctl that started it; nothing here is installed in the guest, only
# the engines it drives (bubblewrap, perl; with egress also socat and tinyproxy).
#
# The agent's world is an allow-list (docs/sandbox.md): the system read-only, a private
# home of its own (persistent, never read by anything outside the sandbox), the home's
# tool directories read-only, the VM's shares (writable ones writable, except the files the
# host runs: git's config and hooks, editor and agent settings), fresh /tmp, /run, /var/tmp
# and /dev, no root, no socket of the VM. With egress its only way out is the proxy.
#
# Exit status: the agent's, or death by the agent's signal, as without the sandbox; 125
# when the sandbox cannot be set up (nothing ran).

set -u
# Absolute tools only: PATH may name directories the agent can write.
agent_path=${PATH-}
PATH=/usr/sbin:/usr/bin:/sbin:/bin

fail() {
  printf 'shimctl: %s\n' "$1" >&2
  exit 125
}

needed=() shares=() ro_shares=() tools=() states=() host_run=() prunes=() refuse=() unprotected=()
filter_text="" forwards=() egress="" container_socket="" vm="the VM"
waiter="" egress_stage="" blocked_message="" git_note="" protect=1 missing="" files_id=""
while [ $# -gt 0 ]; do
  case $1 in
  --need) needed+=("$2"); shift 2 ;;
  --share) shares+=("$2"); shift 2 ;;
  --share-ro) ro_shares+=("$2"); shift 2 ;;
  --tool) tools+=("$2"); shift 2 ;;
  --state) states+=("$2"); shift 2 ;;
  --host-run) host_run+=("$2"); shift 2 ;;
  --prune) prunes+=("$2"); shift 2 ;;
  --unprotected) unprotected+=("$2"); shift 2 ;;
  --no-protect) protect=""; shift ;;
  --refuse) refuse+=("$2" "$3"); shift 3 ;;
  --git-note) git_note=$2; shift 2 ;;
  --missing) missing=$2; shift 2 ;;
  --files-id) files_id=$2; shift 2 ;;
  --vm) vm=$2; shift 2 ;;
  --waiter) waiter=$2; shift 2 ;;
  --container-socket) container_socket=1; shift ;;
  # Egress: its stage script (shell/egress.bash), the refusal line, the filter.
  --egress) egress=1; egress_stage=$2; shift 2 ;;
  --blocked-message) blocked_message=$2; shift 2 ;;
  # The proxy's filter, a line per expression, in words of up to 64 KiB.
  --filter-text) filter_text+=$2; shift 2 ;;
  --forward) forwards+=("$2"); shift 2 ;;
  --) shift; break ;;
  *) fail "sandbox launcher: unknown option $1 (the shim and the launcher disagree; reinstall shimctl)" ;;
  esac
done
[ $# -gt 0 ] || fail "sandbox launcher: no command"
[[ $files_id =~ ^[0-9a-f]{16}$ ]] || fail "sandbox launcher: no --files-id (the shim and the launcher disagree; reinstall shimctl)"
[ -n "$waiter" ] || fail "sandbox launcher: no waiter"

# No process per check: every start pays for what runs here (docs/sandbox.md, Cost).
for tool in "${needed[@]}"; do
  found=""
  for dir in /usr/bin /bin /usr/sbin /sbin; do
    if [ -f "$dir/$tool" ] && [ -x "$dir/$tool" ]; then found=1 && break; fi
  done
  [ -n "$found" ] || fail "the agent sandbox needs $tool in VM \`$vm\`; install what it needs: shimctl vm provision"
done
if [ -z "${HOME-}" ] || [ ! -d "$HOME" ] || [ "$HOME" = / ]; then
  fail "sandbox: the guest user has no home directory (HOME=${HOME-})"
fi
uid=$UID
start_dir=$PWD
# Mount points must be real directories: bubblewrap cannot mount on a symbolic link.
cd -P -- "$HOME" 2>/dev/null || fail "sandbox: cannot resolve the home directory $HOME"
home=$PWD

run="" child="" status_file=""
cleanup() {
  [ -n "$child" ] && kill "$child" 2>/dev/null
  child=""
  [ -z "$run" ] || rm -rf -- "$run"
  run=""
}
trap cleanup EXIT
trap 'sweep_shares; exit 129' HUP
trap 'sweep_shares; exit 143' TERM

# --- the private home ---------------------------------------------------------------------
# Persistent, and read by nothing outside the sandbox: the agent's own state, caches and
# scratch files. Made on the first start, with the agents' state (logins) copied in from
# the real home once, while no agent has touched it yet.
private=$home/.shimctl-sandbox
if [ ! -d "$private/home" ]; then
  (umask 077 && mkdir -p -- "$private") || fail "sandbox: cannot create $private"
  fresh=$(mktemp -d "$private/.new.XXXXXXXX") || fail "sandbox: cannot create the agent's home in $private"
  for rel in "${states[@]}"; do
    if [ -e "$home/$rel" ] && [ ! -L "$home/$rel" ]; then
      if ! mkdir -p -- "$fresh/$(dirname -- "$rel")" || ! cp -a -- "$home/$rel" "$fresh/$rel"; then
        fail "sandbox: cannot copy $rel into the agent's home"
      fi
    fi
  done
  mv -T -- "$fresh" "$private/home" || fail "sandbox: cannot create the agent's home in $private"
fi
[ -L "$private" ] || [ -L "$private/home" ] && fail "sandbox: $private is a symbolic link; remove it"
# Small files of the launcher's own, where the sandbox does not see them: the refusal
# scripts, the git wrapper (named by the digest of their texts), each start's status file.
[ -d "$private/bin" ] || mkdir -m 700 -- "$private/bin" || fail "sandbox: cannot create $private/bin"
status_file=$private/bin/status.$$
: >"$status_file" || fail "sandbox: cannot write $status_file"
# Each start's file stays (removing it would cost a process); past 64, those of launchers
# that are gone go, in one process.
old_status=("$private"/bin/status.* "$private"/bin/lifeline.*) # (lifelines: older launchers')
if [ ${#old_status[@]} -gt 64 ]; then
  gone=()
  for f in "${old_status[@]}"; do
    [ -d "/proc/${f##*.}" ] || gone+=("$f")
  done
  [ ${#gone[@]} -eq 0 ] || rm -f -- "${gone[@]}"
fi
# put NAME TEXT: the launcher's file NAME holding TEXT (a refusal script, the git wrapper),
# named by the shim's digest of the texts (--files-id): when it exists, nothing is read
# or written, and no process runs.
put() {
  put_file=$private/bin/$1.$files_id
  [ -f "$put_file" ] && return 0
  # A name of this launcher's own: one killed half-way leaves its file behind unused.
  if ! printf '%s' "$2" >"$put_file.$$" || ! chmod 555 "$put_file.$$" || ! mv -f -- "$put_file.$$" "$put_file"; then
    fail "sandbox: cannot write $put_file"
  fi
  # Files of texts no longer named (an older shimctl, a config since changed) stay: a
  # few hundred bytes each, and removing one could pull it from under a starting sandbox.
}

if [ -n "$egress" ]; then
  # The proxy's files go where no share and no sandbox reaches: the user's runtime
  # directory (the sandbox sees its own, empty), else /tmp (the sandbox has its own).
  base=/tmp
  [ -d "/run/user/$uid" ] && [ -w "/run/user/$uid" ] && base=/run/user/$uid
  # One mkdir for both (no mktemp): it fails if the name is taken, and -m 700 is the
  # first one's mode from the start.
  run=$base/shimctl-sandbox.$$.$RANDOM$RANDOM
  mkdir -m 700 -- "$run" "$run/sandbox" 2>/dev/null || fail "sandbox: cannot make a private directory in $base in VM \`$vm\`"
  # A launcher killed outright could not remove its directory: the next start does, once
  # the process named there is gone (a pid means something only in its PID namespace).
  pidns=$(stat -L -c %i /proc/self/ns/pid 2>/dev/null) || pidns=unknown
  echo "$$ $pidns" >"$run/pid"
  for old in "$base"/shimctl-sandbox.*/pid; do
    if [ ! -f "$old" ] || [ "$old" = "$run/pid" ] || ! read -r owner owner_ns <"$old"; then continue; fi
    if [[ $owner =~ ^[0-9]+$ ]] && [ "$owner_ns" = "$pidns" ] && ! kill -0 "$owner" 2>/dev/null; then
      rm -rf -- "${old%/pid}"
    fi
  done
fi

# The sandbox's lifeline, and with egress its stage, start here. bubblewrap's
# --die-with-parent leaves windows: bwrap sets it only once it runs, and its child sets its
# own only after building the sandbox; a launcher killed then leaves the sandbox orphaned.
# So the sandbox watches this shell: a pipe whose only writer is this shell (fd 7) is the
# sandbox's fd 6; at its end of file (this shell gone, however, even before bwrap ran)
# the waiter, or with egress the stage, ends the sandbox's whole PID namespace. A process
# substitution makes the pipe without a process of its own (a FIFO would cost a mkfifo);
# the sandbox gets this shell's stdin back from fd 5. Processes this shell starts from
# here on get `7>&-`: one that lingered would hold the lifeline open.
exec 5<&0
if [ -n "$egress" ]; then
  # The proxy and its helpers run in a PID namespace of their own, whose first process
  # dies with this shell: killed at any moment, nothing of them survives. Its own /proc:
  # bubblewrap inside it reads its child's namespaces there (bubblewrap.c,
  # namespace_ids_read). It starts now, so the proxy comes up while this shell builds the
  # sandbox; it waits for this shell's go (a byte on the lifeline), and the sandbox's words
  # in $run/words.
  printf '%s' "$filter_text" >"$run/filter"
  trap '' INT QUIT
  # In the directory Lima's `cd` chose: the sandbox starts the agent where its stage is.
  exec 7> >(cd -- "$start_dir" && SHIMCTL_AGENT_PATH=$agent_path SHIMCTL_WAITER=$waiter SHIMCTL_MISSING=$missing \
    exec 6<&0 0<&5 5<&- bwrap --die-with-parent --unshare-pid --dev-bind / / --proc /proc -- \
    /bin/bash -c "$egress_stage" shimctl-egress "$run" "$blocked_message" ${#forwards[@]} "${forwards[@]}")
  child=$!
fi

# --- the file system: an allow-list -------------------------------------------------------
fs=()
# A merged-/usr link (/bin -> usr/bin) is bound as the directory it names.
for entry in /usr /etc /opt /srv /snap /bin /sbin /lib /lib32 /lib64 /libx32 /nix; do
  [ -d "$entry" ] && fs+=(--ro-bind "$entry" "$entry")
done
fs+=(--ro-bind /sys /sys --dev /dev --proc /proc --tmpfs /tmp --tmpfs /dev/shm)
# /run: the agent's own, empty; the resolver's file when /etc/resolv.conf points there.
fs+=(--tmpfs /run --perms 0700 --dir "/run/user/$uid")
if [ -L /etc/resolv.conf ]; then
  resolv=$(realpath -e /etc/resolv.conf 2>/dev/null) || resolv=""
  case $resolv in /run/*) fs+=(--ro-bind "$resolv" "$resolv") ;; esac
fi
# /var: what programs read there (the package lists), nothing that listens.
fs+=(--tmpfs /var --symlink ../run /var/run --symlink ../run/lock /var/lock --dir /var/tmp)
for keep in /var/lib/dpkg /var/lib/apt /var/cache/debconf /var/lib/ucf; do
  [ -d "$keep" ] && fs+=(--ro-bind "$keep" "$keep")
done
fs+=(--bind "$private/home" "$home")
for rel in "${tools[@]}"; do
  [ -d "$home/$rel" ] && [ ! -L "$home/$rel" ] && fs+=(--ro-bind "$home/$rel" "$home/$rel")
done

# --- shares, and the files in them that the host runs -------------------------------------
protect_gitdir() { # REAL DEST: a git directory can be neither renamed nor replaced, and
  # what git runs from it is read-only
  local g=$1 at=$2 f sub hooks
  known_git[$g]=1
  fs+=(--bind "$g" "$at")
  # An empty config.worktree is what git reads when there is none; made so that a
  # repository with extensions.worktreeConfig cannot be given one.
  [ -e "$g/config.worktree" ] || : >"$g/config.worktree" 2>/dev/null
  for f in config config.worktree commondir gitdir; do
    [ -e "$g/$f" ] && fs+=(--ro-bind "$g/$f" "$at/$f")
  done
  # Made when missing (inside .git, as git init would), so the agent cannot plant them.
  for f in hooks info; do
    [ -e "$g/$f" ] || mkdir -- "$g/$f" 2>/dev/null
    [ -e "$g/$f" ] && fs+=(--ro-bind "$g/$f" "$at/$f")
  done
  # core.hooksPath naming a directory of the work tree (husky): the host runs it too. git
  # reads the value only when the config names it at all.
  local text=""
  [ -f "$g/config" ] && IFS= read -r -d '' text <"$g/config"
  if [[ ${text,,} == *hookspath* ]] && hooks=$(git -C / config --file "$g/config" --get core.hooksPath 2>/dev/null 7>&-); then
    case $hooks in /* | "~"*) ;; *) [ -d "${g%/*}/$hooks" ] && fs+=(--ro-bind "${g%/*}/$hooks" "${at%/*}/$hooks") ;; esac
  fi
  for sub in "$g"/modules/* "$g"/worktrees/*; do
    [ -f "$sub/HEAD" ] && [ ! -L "$sub" ] && protect_gitdir "$sub" "$at${sub#"$g"}"
  done
}
gitdirs=()
# What the start found, by path: the end's sweep tells what the session made.
declare -A known_git=() known_name=()
neutralize_commondir() {
  if [ -e "$1/commondir" ] || [ -L "$1/commondir" ]; then
    mv -f -- "$1/commondir" "$1/commondir.removed-by-shimctl" 2>/dev/null || rm -f -- "$1/commondir"
    printf 'shimctl: removed %s/commondir, which sent git to another configuration (an agent planted it)\n' "$1" >&2
  fi
}
# Repositories made during the session (git init, git clone, a new submodule or work tree)
# are the agent's, config and hooks included: when it ends, what the host's git would run
# from them is taken out. Only keys that run nothing stay in their config; hooks move to
# hooks.disabled-by-shimctl.
sanitize_new_repo() {
  # git runs from / (-C): never inside a repository whose config the agent wrote.
  local g=$1 key removed=() h line=""
  if [ -f "$g/config" ] && [ ! -L "$g/config" ]; then
    cp -p -- "$g/config" "$g/config.shimctl-original" 2>/dev/null
    while IFS= read -r key; do
      case ${key,,} in
      core.repositoryformatversion | core.filemode | core.bare | core.logallrefupdates | \
        core.ignorecase | core.precomposeunicode | core.symlinks | core.worktree | \
        extensions.objectformat | remote.*.url | remote.*.fetch | branch.*.remote | \
        branch.*.merge | submodule.*.url | submodule.*.active | user.name | user.email) ;;
      *) git -C / config --file "$g/config" --unset-all "$key" 2>/dev/null; removed+=("$key") ;;
      esac
    done < <(git -C / config --file "$g/config" --list --name-only 2>/dev/null | sort -u)
  fi
  for h in "$g"/hooks/*; do
    [ -e "$h" ] || [ -L "$h" ] || continue
    case $h in *.sample) continue ;; esac
    mkdir -p -- "$g/hooks.disabled-by-shimctl" && mv -f -- "$h" "$g/hooks.disabled-by-shimctl/" && removed+=("hooks/${h##*/}")
  done
  # A linked work tree's git directory names its repository's as `../..`, which git
  # itself writes; anything else sends git to a configuration the agent chose.
  if [ -f "$g/commondir" ] && [[ $g == */.git/worktrees/* ]]; then
    IFS= read -r line <"$g/commondir"
  fi
  if [ "$line" != ../.. ] && { [ -e "$g/commondir" ] || [ -L "$g/commondir" ]; }; then
    rm -f -- "$g/commondir" && removed+=(commondir)
  fi
  if [ -e "$g/config.worktree" ] || [ -L "$g/config.worktree" ]; then
    rm -f -- "$g/config.worktree" && removed+=(config.worktree)
  fi
  if [ ${#removed[@]} -eq 0 ]; then
    rm -f -- "$g/config.shimctl-original"
  else
    printf 'shimctl: %s is a repository made during the session: took out what the host'\''s git would run (%s; the config as it was: %s/config.shimctl-original)\n' "${g%/.git}" "${removed[*]}" "$g" >&2
  fi
}
# A git directory the start knew: the submodules and work trees made since are new.
sweep_gitdir() {
  local sub
  for sub in "$1"/modules/* "$1"/worktrees/*; do
    if [ ! -f "$sub/HEAD" ] || [ -L "$sub" ]; then continue; fi
    if [ -n "${known_git[$sub]-}" ]; then sweep_gitdir "$sub"; else sanitize_new_repo "$sub"; fi
  done
}
# A file or directory the host runs that the session made where there was none (a new
# `.vscode/`, `.envrc`, `.mcp.json`, a gitfile): moved aside, for the user to look at.
set_aside() {
  local to=$1.made-in-sandbox n=1
  while [ -e "$to" ] || [ -L "$to" ]; do
    to=$1.made-in-sandbox.$n
    n=$((n + 1))
  done
  mv -T -- "$1" "$to" 2>/dev/null &&
    printf 'shimctl: moved %s, made during the session, to %s: the host runs it (git, an editor, direnv, an agent); look at it, and move it back if it is yours\n' "$1" "${to##*/}" >&2
}
# A gitfile made during the session may point only into a git directory the start knew
# (a new submodule's or work tree's, which the sweep sanitizes); elsewhere, it is set aside.
gitfile_target_known() {
  local line="" target g
  IFS= read -r line <"$1" 2>/dev/null
  [[ $line == "gitdir: "* ]] || return 1
  target=${line#gitdir: }
  [[ $target == /* ]] || target=${1%/.git}/$target
  target=$(realpath -e -- "$target" 2>/dev/null) || return 1
  for g in "${gitdirs[@]}"; do
    case $target in "$g"/modules/* | "$g"/worktrees/*) return 0 ;; esac
  done
  return 1
}
is_bare_repo() { [ -d "$1/objects" ] && [ -d "$1/refs" ] && [ ! -L "$1" ]; }
swept=""
sweep_shares() { # at the end: planted commondirs, new repositories, new host-run files
  local share found g
  [ -n "$protect" ] && [ -n "$scan_done" ] && [ -z "$swept" ] || return 0
  swept=1
  for share in "${scanned[@]}"; do
    while IFS= read -r -d '' found; do
      case ${found##*/} in
      .git)
        if [ -d "$found" ] && [ ! -L "$found" ]; then
          if [ -n "${known_git[$found]-}" ]; then
            neutralize_commondir "$found"
            sweep_gitdir "$found"
          else
            sanitize_new_repo "$found"
          fi
        elif [ -z "${known_name[$found]-}" ] && { [ -L "$found" ] || ! gitfile_target_known "$found"; }; then
          set_aside "$found"
        fi
        ;;
      HEAD)
        g=${found%/HEAD}
        if ! is_bare_repo "$g"; then continue; fi
        if [ -n "${known_git[$g]-}" ]; then
          neutralize_commondir "$g"
          sweep_gitdir "$g"
        else
          sanitize_new_repo "$g"
        fi
        ;;
      # git runs nothing from a new .gitmodules (a submodule's `update = !command` counts
      # only in .git/config), and `git submodule add` writes one.
      .gitmodules) ;;
      *) [ -n "${known_name[$found]-}" ] || set_aside "$found" ;;
      esac
    done < <(find "$share" -xdev \( -false "${prune[@]}" \) -prune -o \( -name .git "${run_names[@]}" \) -print0 -prune -o -name HEAD -type f -print0 2>/dev/null 7>&-)
  done
}
scanned=() scan_done=""
prune=() run_names=()
for p in "${prunes[@]}"; do prune+=(-o -name "$p"); done
for p in "${host_run[@]}"; do run_names+=(-o -name "$p"); done
scan_share() { # REAL DEST: what the host runs inside one writable share
  local share=$1 dest=$2 found g
  scanned+=("$share")
  while IFS= read -r -d '' found; do
    at=$dest${found#"$share"}
    case ${found##*/} in
    .git)
      if [ -d "$found" ] && [ ! -L "$found" ]; then
        # A repository's own .git never has a commondir (only a linked work tree's git
        # directory does): one there was planted to redirect git to another config.
        neutralize_commondir "$found"
        protect_gitdir "$found" "$at"
        gitdirs+=("$found")
      else
        # A gitfile (a linked work tree or submodule) points at its git directory.
        fs+=(--ro-bind "$found" "$at")
        known_name[$found]=1
      fi
      ;;
    HEAD)
      # A bare repository (no .git of its own) in the share: the host's git finds it too.
      g=${found%/HEAD}
      if is_bare_repo "$g" && [ -z "${known_git[$g]-}" ]; then
        protect_gitdir "$g" "$dest${g#"$share"}"
        gitdirs+=("$g")
      fi
      ;;
    *)
      fs+=(--ro-bind "$found" "$at")
      known_name[$found]=1
      ;;
    esac
  done < <(find "$share" -xdev \( -false "${prune[@]}" \) -prune -o \( -name .git "${run_names[@]}" \) -print0 -prune -o -name HEAD -type f -print0 2>/dev/null 7>&-)
}
# Each at the path Lima mounts it on (where Lima's `cd` put the agent).
for share in "${shares[@]}"; do
  cd -P -- "$share" 2>/dev/null || continue
  real=$PWD
  fs+=(--bind "$real" "$share")
  [ -n "$protect" ] || continue
  skip=""
  for u in "${unprotected[@]}"; do
    case $share/ in "$u"/*) skip=1 ;; esac
  done
  [ -n "$skip" ] || scan_share "$real" "$share"
done
for share in "${ro_shares[@]}"; do
  cd -P -- "$share" 2>/dev/null && fs+=(--ro-bind "$PWD" "$share")
done
scan_done=1
# Back where Lima's `cd` put the agent: bubblewrap starts it in the same directory.
cd -- "$start_dir" || fail "sandbox: cannot go back to $start_dir"

# --- what is not the agent's: root, the container engine ----------------------------------
i=0
while [ $i -lt ${#refuse[@]} ]; do
  program=${refuse[i]} message=${refuse[i + 1]}
  i=$((i + 2))
  for dir in /usr/bin /usr/sbin /usr/local/bin; do
    [ -e "$dir/$program" ] || continue
    printf -v script '#!/bin/bash\nprintf "%%s\\n" %q >&2\nexit 1\n' "$message"
    put "refuse-$program" "$script"
    fs+=(--ro-bind "$put_file" "$dir/$program")
  done
done
# git in the sandbox: the same git, which says why when it failed to write a protected file.
if [ -n "$git_note" ] && [ -x /usr/bin/git ] && [ ${#gitdirs[@]} -gt 0 ]; then
  # shellcheck disable=SC2016 # written into the wrapper as is
  printf -v script '#!/bin/bash\n/run/.shimctl-git "$@" && exit 0\ns=$?\ncase " $* " in *" push "*|*" config "*|*" remote "*|*" branch "*|*" submodule "*|*" worktree "*|*" init "*) printf "%%s\\n" %q >&2 ;; esac\nexit $s\n' "$git_note"
  put git "$script"
  fs+=(--ro-bind /usr/bin/git /run/.shimctl-git --ro-bind "$put_file" /usr/bin/git)
fi
if [ -n "$container_socket" ]; then
  for sock in "/run/user/$uid/docker.sock" "/run/user/$uid/podman/podman.sock" /run/docker.sock /run/podman/podman.sock; do
    [ -S "$sock" ] && fs+=(--bind "$sock" "$sock")
  done
fi
fs+=(--bind "$status_file" /tmp/.shimctl-status)
[ -z "$egress" ] || fs+=(--bind "$run/sandbox" /tmp/.shimctl)

# --- run it -------------------------------------------------------------------------------
# Ctrl-C and Ctrl-\ are the agent's (the waiter gives them back to it); this shell learns
# how the agent ended from the status file. bwrap dies with this shell (and takes the
# sandbox with it) however this shell ends.
trap '' INT QUIT
sandbox=(bwrap --die-with-parent --unshare-all --unshare-user --disable-userns "${fs[@]}")
if [ -n "$egress" ]; then
  printf '%s\0' ${#sandbox[@]} "${sandbox[@]}" "$@" >"$run/words" || fail "sandbox: cannot write $run/words"
  # A stage that already failed has said why; a write to its pipe must not kill this
  # shell (SIGPIPE) before it says so too.
  trap '' PIPE
  if ! { printf g >&7; } 2>/dev/null; then
    wait "$child"
    fail "the egress stage ended (status $?) before the agent could start in VM \`$vm\`; check: shimctl doctor"
  fi
  trap - PIPE
else
  exec 7> >(SHIMCTL_AGENT_PATH=$agent_path SHIMCTL_MISSING=$missing \
    exec 6<&0 0<&5 5<&- "${sandbox[@]}" --share-net -- /usr/bin/perl -e "$waiter" -- --lifeline 6 -- "$@")
  child=$!
fi
exec 5<&-
wait "$child"
status=$?
child=""
sweep_shares

report=""
IFS= read -r report <"$status_file"
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
fail "the sandbox (bubblewrap) could not start the agent in VM \`$vm\` (status $status); check: shimctl doctor"
