#!/bin/sh
# shimctl set-up in one command, for a machine with Rust: builds and installs the binary,
# links the agent shims, and adds one marked line to your shell's startup file so the
# shims come first on PATH. `install/install.sh --uninstall` undoes all of it.
# Nothing is deleted but what this script or shimctl made.
set -eu

marker="# added by shimctl install.sh"
repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
root=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}
bin="$root/bin/shimctl"

say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

case "$bin" in
*"'"*) die "the install path $bin contains a single quote; set CARGO_INSTALL_ROOT elsewhere" ;;
esac

# The user's shell, its startup file, and the line that sets shimctl up in it.
shell_name=$(basename -- "${SHELL:-sh}")
fish_rc="${XDG_CONFIG_HOME:-$HOME/.config}/fish/config.fish"
case "$shell_name" in
bash) rc="$HOME/.bashrc" line="eval \"\$('$bin' init bash)\" $marker" ;;
zsh) rc="${ZDOTDIR:-$HOME}/.zshrc" line="eval \"\$('$bin' init zsh)\" $marker" ;;
fish) rc="$fish_rc" line="'$bin' init fish | source $marker" ;;
*) rc="" line="" ;;
esac

install() {
    command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust first (https://rustup.rs)"
    say "building and installing shimctl into $root/bin"
    # SHIMCTL_CARGO_ARGS: extra `cargo install` arguments (the tests pass --debug).
    # shellcheck disable=SC2086 # split on purpose
    cargo install --path "$repo" --locked --quiet ${SHIMCTL_CARGO_ARGS:-}
    say "linking the agent shims"
    "$bin" install || true

    if [ -z "$rc" ]; then
        say "unknown shell '$shell_name': add the output of '$bin init bash' (or zsh, fish) to its startup file"
    elif [ -f "$rc" ] && grep -qF "$marker" "$rc"; then
        say "$rc already sets up shimctl"
    else
        mkdir -p "$(dirname -- "$rc")"
        # Keep the file's last line intact when it lacks a final newline.
        if [ -s "$rc" ] && [ -n "$(tail -c 1 "$rc")" ]; then
            printf '\n' >>"$rc"
        fi
        printf '%s\n' "$line" >>"$rc"
        say "added to $rc: $line"
    fi

    echo
    echo "Next:"
    echo "  1. open a new shell (or run: $line)"
    if command -v limactl >/dev/null 2>&1; then
        echo "  2. if you have no VM yet: $bin vm create"
        echo "  3. share your projects with it: cd ~/Projects && $bin share ."
        echo "  4. type claude (check the set-up any time with: $bin doctor)"
    else
        echo "  2. install Lima 2.0 or newer: brew install lima (macOS), or https://lima-vm.io/docs/installation/"
        echo "  3. then create the VM: $bin vm create, and share your projects: cd ~/Projects && $bin share ."
    fi
}

uninstall() {
    if [ -x "$bin" ]; then
        say "removing the agent shims"
        "$bin" uninstall
    fi
    for f in "$HOME/.bashrc" "${ZDOTDIR:-$HOME}/.zshrc" "$fish_rc"; do
        if [ -f "$f" ] && grep -qF "$marker" "$f"; then
            tmp="$f.shimctl-tmp.$$"
            grep -vF "$marker" "$f" >"$tmp" || true
            # Writing through the original keeps its permissions and any link to it.
            cat "$tmp" >"$f"
            rm -f "$tmp"
            say "removed the shimctl line from $f"
        fi
    done
    shims="${XDG_DATA_HOME:-$HOME/.local/share}/shimctl/shims"
    rmdir "$shims" "$(dirname -- "$shims")" 2>/dev/null || true
    rm -rf "${XDG_CACHE_HOME:-$HOME/.cache}/shimctl"
    if [ -x "$bin" ]; then
        say "uninstalling the binary"
        cargo uninstall --quiet --root "$root" shimctl
    fi
    say "done; your config (~/.config/shimctl) and your Lima VMs are left as they are"
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
