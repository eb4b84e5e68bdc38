# shimctl shell integration for zsh: `eval "$(shimctl init zsh)"` in ~/.zshrc.
# Rendered by `shimctl init zsh` from shell/shimctl.zsh: the shim directory and the lists
# below are the binary's own, so they always agree with it.
# Puts the agent shims at the FRONT of PATH, moving them there if PATH already has them
# further back, without duplicates; sourcing it again leaves PATH as it is.
() {
    local dir=@SHIM_DIR@
    # path is zsh's array view of PATH; drop every copy of dir, then put it first.
    path=("$dir" "${(@)path:#$dir}")
    export PATH
    rehash
}

_shimctl() {
    local -a subcommands vm_commands agents
    subcommands=(@ZSH_SUBCOMMANDS@)
    vm_commands=(@ZSH_VM_SUBCOMMANDS@)
    agents=(@AGENTS@)
    if (( CURRENT == 2 )); then
        _describe 'shimctl command' subcommands
        return
    fi
    case $words[CURRENT-1] in
        --dir) _files -/; return ;;
        --template) _files; return ;;
        --at) return ;;
    esac
    if [[ $PREFIX == -* ]]; then
        # Nested subcommands (`vm stop`, `task stop`) have flags of their own.
        local cmd=$words[2]
        [[ " @NESTED@ " == *" $cmd "* && CURRENT -gt 3 ]] && cmd="$cmd:$words[3]"
        case $cmd in
@ZSH_FLAGS@
        esac
        return
    fi
    case $words[2] in
        init) (( CURRENT == 3 )) && compadd -- bash zsh fish ;;
        vm) (( CURRENT == 3 )) && _describe 'vm command' vm_commands ;;
        task) (( CURRENT == 3 )) && compadd -- @TASK_SUBCOMMANDS@ ;;
        explain|bypass) (( CURRENT == 3 )) && compadd -a agents ;;
        install|uninstall) compadd -a agents ;;
        share|unshare) _files -/ ;;
    esac
}

# Completions need zsh's completion system; a ~/.zshrc without `compinit` would lose them
# silently, so start it here when nothing has.
if (( ! $+functions[compdef] )); then
    autoload -Uz compinit && compinit -i
fi
compdef _shimctl shimctl
