# shimctl shell integration for fish: `shimctl init fish | source` in config.fish.
# Puts the agent shims at the FRONT of PATH, moving them there if PATH already has them
# further back, without duplicates; sourcing it again leaves PATH as it is.
if set -q XDG_DATA_HOME; and test -n "$XDG_DATA_HOME"
    set -g __shimctl_dir $XDG_DATA_HOME/shimctl/shims
else
    set -g __shimctl_dir $HOME/.local/share/shimctl/shims
end
while set -l __shimctl_i (contains -i -- $__shimctl_dir $PATH)
    set -e PATH[$__shimctl_i]
end
set -gx PATH $__shimctl_dir $PATH
set -e __shimctl_dir

complete -c shimctl -f
complete -c shimctl -n __fish_use_subcommand -a "install uninstall list init explain bypass doctor vm share unshare help"
complete -c shimctl -n "__fish_seen_subcommand_from init" -a "bash zsh fish"
complete -c shimctl -n "__fish_seen_subcommand_from explain bypass install uninstall" -a "claude codex opencode gemini copilot aider amp cursor-agent"
