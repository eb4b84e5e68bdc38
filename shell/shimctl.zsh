# shimctl shell integration for zsh: `eval "$(shimctl init zsh)"` in ~/.zshrc.
# Puts the agent shims at the FRONT of PATH, moving them there if PATH already has them
# further back, without duplicates; sourcing it again leaves PATH as it is.
() {
    local dir="${XDG_DATA_HOME:-$HOME/.local/share}/shimctl/shims"
    # path is zsh's array view of PATH; drop every copy of dir, then put it first.
    path=("$dir" "${(@)path:#$dir}")
    export PATH
    rehash
}

if (( $+functions[compdef] )); then
    _shimctl() {
        if (( CURRENT == 2 )); then
            compadd install uninstall list init explain bypass doctor vm share unshare help
        elif (( CURRENT == 3 )); then
            case $words[2] in
                init) compadd bash zsh fish ;;
                explain|bypass|install|uninstall) compadd claude codex opencode gemini copilot aider amp cursor-agent ;;
            esac
        fi
    }
    compdef _shimctl shimctl
fi
