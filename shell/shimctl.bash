# shimctl shell integration for bash: `eval "$(shimctl init bash)"` in ~/.bashrc.
# Rendered by `shimctl init bash` from shell/shimctl.bash: the shim directory and the lists
# below are the binary's own, so they always agree with it.
# Puts the agent shims at the FRONT of PATH, moving them there if PATH already has them
# further back (login shells and editors reorder PATH), without duplicates; sourcing it
# again leaves PATH as it is.
__shimctl_dir=@SHIM_DIR@
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
    local prev=${COMP_WORDS[COMP_CWORD-1]}
    local sub=${COMP_WORDS[1]}
    local words=""
    COMPREPLY=()
    case $prev in
        --dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
        --template) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
        --at) return ;;
    esac
    if [[ $COMP_CWORD -eq 1 ]]; then
        mapfile -t COMPREPLY < <(compgen -W "@SUBCOMMANDS@" -- "$cur")
        return
    fi
    if [[ $cur == -* ]]; then
        # Nested subcommands (`vm stop`, `task stop`) have flags of their own.
        local cmd=$sub
        [[ " @NESTED@ " == *" $sub "* && $COMP_CWORD -gt 2 ]] && cmd="$sub:${COMP_WORDS[2]}"
        case $cmd in
@BASH_FLAGS@
        esac
        mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        return
    fi
    case $sub in
        init) [[ $COMP_CWORD -eq 2 ]] && words="bash zsh fish" ;;
        vm) [[ $COMP_CWORD -eq 2 ]] && words="@VM_SUBCOMMANDS@" ;;
        task) [[ $COMP_CWORD -eq 2 ]] && words="@TASK_SUBCOMMANDS@" ;;
        explain | bypass) [[ $COMP_CWORD -eq 2 ]] && words="@AGENTS@" ;;
        install | uninstall) words="@AGENTS@" ;;
        share | unshare)
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            return
            ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}
complete -o filenames -F _shimctl_complete shimctl
