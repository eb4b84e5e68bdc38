# shimctl shell integration for bash: `eval "$(shimctl init bash)"` in ~/.bashrc.
# Puts the agent shims at the FRONT of PATH, moving them there if PATH already has them
# further back (login shells and editors reorder PATH), without duplicates; sourcing it
# again leaves PATH as it is.
__shimctl_dir="${XDG_DATA_HOME:-$HOME/.local/share}/shimctl/shims"
__shimctl_path=":${PATH}:"
while [[ $__shimctl_path == *":${__shimctl_dir}:"* ]]; do
    __shimctl_path=${__shimctl_path//":${__shimctl_dir}:"/:}
done
__shimctl_path=${__shimctl_path#:}
__shimctl_path=${__shimctl_path%:}
PATH="${__shimctl_dir}${__shimctl_path:+:${__shimctl_path}}"
export PATH
unset __shimctl_dir __shimctl_path
hash -r

_shimctl_complete() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    if [[ $COMP_CWORD -eq 1 ]]; then
        mapfile -t COMPREPLY < <(compgen -W "install uninstall list init explain bypass doctor vm share unshare help" -- "$cur")
    elif [[ $COMP_CWORD -eq 2 ]]; then
        case ${COMP_WORDS[1]} in
            init) mapfile -t COMPREPLY < <(compgen -W "bash zsh fish" -- "$cur") ;;
            explain | bypass | install | uninstall)
                mapfile -t COMPREPLY < <(compgen -W "claude codex opencode gemini copilot aider amp cursor-agent" -- "$cur") ;;
        esac
    fi
}
complete -F _shimctl_complete shimctl
