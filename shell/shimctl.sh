# shimctl PATH set-up for every POSIX shell (sh, dash, bash, zsh): sourced from ~/.profile
# (login shells, desktop sessions) and ~/.zshenv (every zsh); `shimctl init sh` renders it
# with the binary's shim directory. Only PATH: completions are `shimctl init bash|zsh`'s.
# Puts the shim directory at the FRONT of PATH, moving it there if PATH already has it
# further back (macOS's path_helper and other start-up files reorder PATH), without
# duplicates; word splitting and globbing are never involved, so it behaves the same in
# zsh as in sh.
__shimctl_dir=@SHIM_DIR@
__shimctl_path=":${PATH}:"
while :; do
    case $__shimctl_path in
    *":${__shimctl_dir}:"*)
        __shimctl_path="${__shimctl_path%%":${__shimctl_dir}:"*}:${__shimctl_path#*":${__shimctl_dir}:"}"
        ;;
    *) break ;;
    esac
done
__shimctl_path=${__shimctl_path#:}
__shimctl_path=${__shimctl_path%:}
PATH="${__shimctl_dir}${__shimctl_path:+:${__shimctl_path}}"
export PATH
unset __shimctl_dir __shimctl_path
