#!/bin/sh
# shimctl set-up in one command, for a machine with Rust: builds and installs the binary,
# links the agent shims, and puts the shims first on PATH for every shell a program may
# start: ~/.profile (login shells of sh and bash, desktop sessions) and, where they are
# read instead, ~/.bash_profile or ~/.bash_login, plus ~/.zshenv (every zsh) source
# `shimctl init sh` kept in $XDG_DATA_HOME/shimctl/env; the interactive shell's file
# (~/.bashrc, ~/.zshrc, fish's config.fish) gets `shimctl init SHELL` for completions.
# Each is one marked line. `install/install.sh --uninstall` undoes all of it.
#
# Start-up files are never edited in place: each change is written to a temporary file in
# the same directory, checked, and renamed over the original (keeping its mode and owner,
# and editing a symlinked file's target), so a full disk or a read-only home leaves the
# original as it was and this script fails saying so.
set -eu

marker="# added by shimctl install.sh"
repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)

say() { printf '==> %s\n' "$*"; }
die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

# The XDG Base Directory spec: a relative value is invalid and ignored. Resolved against
# the current directory, it could make this script write, or delete, somewhere else.
case "${HOME:-}" in
/*) ;;
*) die "HOME must be an absolute path (it is '${HOME:-}')" ;;
esac
xdg() {
    case "$1" in
    /*) printf '%s' "$1" ;;
    *) printf '%s' "$HOME/$2" ;;
    esac
}
data_home=$(xdg "${XDG_DATA_HOME:-}" .local/share)
config_home=$(xdg "${XDG_CONFIG_HOME:-}" .config)
cache_home=$(xdg "${XDG_CACHE_HOME:-}" .cache)
root=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}
bin="$root/bin/shimctl"
# Start-up files this script created (removed again when --uninstall leaves them empty).
created_list="$data_home/shimctl/install-created-rc"

case "$bin" in
*"'"*) die "the install path $bin contains a single quote; set CARGO_INSTALL_ROOT elsewhere" ;;
esac
env_file="$data_home/shimctl/env"
case "$env_file" in
*"'"*) die "the data directory $data_home contains a single quote; set XDG_DATA_HOME elsewhere" ;;
esac

# Every line this script may have added, whatever binary path it named: --uninstall
# removes exactly these, never a line of the user's that merely mentions the marker.
added_line_re="^((\\[ -n \"\\\$\\{BASH_VERSION:-\\}\" \\] && )?eval \"\\\$\\('[^']*' init (bash|zsh)\\)\"|'[^']*' init fish \\| source|\\[ -f '[^']*' \\] && \\. '[^']*') # added by shimctl install\\.sh\$"

# The user's shell, its startup file, and the line that sets shimctl up in it.
shell_name=$(basename -- "${SHELL:-sh}")
fish_rc="$config_home/fish/config.fish"
case "$shell_name" in
bash) rc="$HOME/.bashrc" line="eval \"\$('$bin' init bash)\" $marker" ;;
zsh) rc="${ZDOTDIR:-$HOME}/.zshrc" line="eval \"\$('$bin' init zsh)\" $marker" ;;
fish) rc="$fish_rc" line="'$bin' init fish | source $marker" ;;
*) rc="" line="" ;;
esac
# Login shells and desktop sessions read ~/.profile, and Debian's and Ubuntu's ~/.bashrc
# returns early when not interactive (`bash -lc`, IDE tasks): PATH is set in the files
# every shell reads, from a file of shimctl's own (a missing one is skipped: sh exits on a
# failed `.`). bash's login shells read ~/.bash_profile or ~/.bash_login instead of
# ~/.profile when one exists; every zsh reads ~/.zshenv.
env_line="[ -f '$env_file' ] && . '$env_file' $marker"
path_files() {
    printf '%s\n' "$HOME/.profile"
    for f in "$HOME/.bash_profile" "$HOME/.bash_login"; do
        if [ -e "$f" ]; then
            printf '%s\n' "$f"
            break
        fi
    done
    if [ "$shell_name" = zsh ] || [ -e "${ZDOTDIR:-$HOME}/.zshenv" ] || [ -e "${ZDOTDIR:-$HOME}/.zshrc" ]; then
        printf '%s\n' "${ZDOTDIR:-$HOME}/.zshenv"
    fi
}

# write_env: shimctl's PATH snippet, replaced whole (a temporary file renamed over it).
write_env() {
    mkdir -p -- "$(dirname -- "$env_file")" || die "cannot create $(dirname -- "$env_file")"
    tmp=$(mktemp "$env_file.XXXXXX" 2>/dev/null) || die "cannot write in $(dirname -- "$env_file") (read-only or full?)"
    if ! "$bin" init sh >"$tmp" || ! mv -f -- "$tmp" "$env_file"; then
        rm -f -- "$tmp"
        die "cannot write $env_file (disk full?)"
    fi
}

# The file a path names, symlinks followed (an rc kept in a dotfiles repository).
resolve() {
    f=$1
    while [ -L "$f" ]; do
        target=$(readlink -- "$f")
        case "$target" in
        /*) f=$target ;;
        *) f="$(dirname -- "$f")/$target" ;;
        esac
    done
    printf '%s' "$f"
}

# rewrite FILE MODE [LINE]: MODE `add` appends LINE, `remove` drops the added lines.
# All or nothing: the new contents go to a temporary file beside the original, are
# compared with what they must be, and replace it with one rename.
rewrite() {
    file=$(resolve "$1")
    dir=$(dirname -- "$file")
    mkdir -p -- "$dir" 2>/dev/null || die "cannot create $dir; $1 is unchanged"
    tmp=$(mktemp "$dir/.shimctl-rc.XXXXXX" 2>/dev/null) ||
        die "cannot write in $dir (read-only or full?); $1 is unchanged"
    # cp -p first: the new file gets the original's mode and, for root, its owner.
    if [ -f "$file" ] && ! cp -p -- "$file" "$tmp" 2>/dev/null; then
        rm -f -- "$tmp"
        die "cannot copy $file (disk full?); it is unchanged"
    fi
    src=$file
    [ -f "$file" ] || src=/dev/null
    if ! new_contents "$2" "${3:-}" <"$src" >"$tmp" 2>/dev/null ||
        ! new_contents "$2" "${3:-}" <"$src" | cmp -s - "$tmp"; then
        rm -f -- "$tmp"
        die "cannot write the new $1 (disk full?); it is unchanged"
    fi
    mv -f -- "$tmp" "$file" || {
        rm -f -- "$tmp"
        die "cannot replace $file; it is unchanged"
    }
}

# The new contents of a start-up file, from its old ones on stdin.
new_contents() {
    case "$1" in
    add)
        cat
        # Keep the file's last line intact when it lacks a final newline.
        if [ -s "$file" ] && [ -n "$(tail -c 1 -- "$file")" ]; then
            printf '\n'
        fi
        printf '%s\n' "$2"
        ;;
    remove)
        # grep exits 1 when every line goes: that is a success here.
        grep -v -E -- "$added_line_re" || [ $? -eq 1 ]
        ;;
    esac
}

has_added_line() { [ -f "$1" ] && grep -q -E -- "$added_line_re" "$1"; }

# add_line FILE LINE: adds LINE to FILE once, remembering a file this script created.
add_line() {
    if has_added_line "$1"; then
        say "$1 already sets up shimctl"
        return
    fi
    if [ ! -e "$1" ]; then
        if ! { mkdir -p -- "$(dirname -- "$created_list")" &&
            printf '%s\n' "$1" >>"$created_list"; }; then
            die "cannot write $created_list; $1 is unchanged"
        fi
    fi
    rewrite "$1" add "$2"
    say "added to $1: $2"
}

install() {
    command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust first (https://rustup.rs)"
    say "building shimctl and installing it into $root/bin (the first build takes a minute)"
    # On Linux with glibc a static build starts faster (docs/overhead.md). It needs an
    # explicit --target, so that the flag reaches only shimctl and not the proc-macros
    # cargo builds for the host. macOS builds stay dynamic.
    target_args=""
    host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
    case "$host" in
    *-linux-gnu)
        target_args="--target $host"
        var="CARGO_TARGET_$(printf '%s' "$host" | tr 'a-z.-' 'A-Z__')_RUSTFLAGS"
        export "$var=-C target-feature=+crt-static"
        ;;
    esac
    # SHIMCTL_CARGO_ARGS: extra `cargo install` arguments (the tests pass --debug).
    # cargo's own lines go to a log: on a terminal a counter shows the build going, then
    # only cargo's result line; when it fails, all of it.
    log=$(mktemp "${TMPDIR:-/tmp}/shimctl-install.XXXXXX") || die "cannot make a temporary file"
    # shellcheck disable=SC2086 # split on purpose
    cargo install --path "$repo" --locked $target_args ${SHIMCTL_CARGO_ARGS:-} >"$log" 2>&1 &
    cargo_pid=$!
    trap 'kill "$cargo_pid" 2>/dev/null; rm -f -- "$log"; exit 130' INT TERM
    if [ -t 1 ]; then
        while kill -0 "$cargo_pid" 2>/dev/null; do
            printf '\r    %s crates compiled' "$(grep -c '^ *Compiling' "$log")"
            sleep 1
        done
        printf '\r'
    fi
    if ! wait "$cargo_pid"; then
        cat -- "$log" >&2
        rm -f -- "$log"
        die "cargo install failed (its output is above)"
    fi
    trap - INT TERM
    grep -E '^ *(Installed|Replaced) package' "$log" | sed 's/^ */    /'
    rm -f -- "$log"
    say "linking the agent shims"
    # PATH is this script's business below: shimctl's own advice about it is left out.
    "$bin" install 2>&1 | grep -v -e ' is not on PATH yet, for ' -e '^to put the shims first on PATH' || true

    write_env
    path_files >"$data_home/shimctl/.path-files"
    while IFS= read -r f; do
        add_line "$f" "$env_line"
    done <"$data_home/shimctl/.path-files"
    rm -f -- "$data_home/shimctl/.path-files"
    if [ -z "$rc" ]; then
        say "unknown shell '$shell_name': add the output of '$bin init bash' (or zsh, fish) to its startup file"
    else
        add_line "$rc" "$line"
    fi

    # The commands below as the user will type them: `shimctl` when that is this binary.
    cmd=$bin
    [ "$(command -v shimctl 2>/dev/null)" = "$bin" ] && cmd=shimctl
    echo
    echo "Done. Open a new shell: typing claude, codex or opencode then runs it in the VM."
    [ "$cmd" = shimctl ] || echo "(shimctl itself is $bin: $root/bin is not on this PATH)"
    if command -v limactl >/dev/null 2>&1; then
        echo "Next: $cmd vm create   (once; then, in a project: $cmd share . && claude)"
    else
        echo "Next: install Lima 2.0 or newer (macOS: brew install lima; Linux: README, First time), then: $cmd vm create"
    fi
}

uninstall() {
    if [ -x "$bin" ]; then
        say "removing the agent shims"
        "$bin" uninstall
    fi
    created=""
    [ -f "$created_list" ] && created=$(cat -- "$created_list")
    for f in "$HOME/.bashrc" "$HOME/.bash_profile" "$HOME/.bash_login" "$HOME/.profile" \
        "${ZDOTDIR:-$HOME}/.zshrc" "${ZDOTDIR:-$HOME}/.zshenv" "$fish_rc"; do
        has_added_line "$f" || continue
        rewrite "$f" remove
        real=$(resolve "$f")
        if [ ! -s "$real" ] && printf '%s\n' "$created" | grep -q -x -F -e "$f"; then
            rm -f -- "$real"
            say "removed $f (it held only the shimctl line, and this script had created it)"
        else
            say "removed the shimctl line from $f"
        fi
    done
    rm -f -- "$created_list" "$env_file"
    shims="$data_home/shimctl/shims"
    rmdir -- "$shims" "$data_home/shimctl" 2>/dev/null || true
    # Absolute by construction (see xdg above), and always ends in /shimctl.
    rm -rf -- "$cache_home/shimctl"
    if [ -x "$bin" ]; then
        say "uninstalling the binary"
        cargo uninstall --root "$root" shimctl
    fi
    say "done; your config ($config_home/shimctl) and your Lima VMs are left as they are"
}

case "${1:-}" in
"") install ;;
--uninstall) uninstall ;;
-h | --help) echo "usage: install/install.sh [--uninstall]" ;;
*)
    echo "usage: install/install.sh [--uninstall]" >&2
    exit 2
    ;;
esac
