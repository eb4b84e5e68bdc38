# shimctl shell integration for fish: `shimctl init fish | source` in config.fish.
# Rendered by `shimctl init fish` from shell/shimctl.fish: the shim directory and the lists
# below are the binary's own, so they always agree with it.
# Puts the agent shims at the FRONT of PATH, moving them there if PATH already has them
# further back, without duplicates; sourcing it again leaves PATH as it is.
set -l __shimctl_dir @SHIM_DIR@
while set -l __shimctl_i (contains -i -- $__shimctl_dir $PATH)
    set -e PATH[$__shimctl_i]
end
set -gx PATH $__shimctl_dir $PATH

complete -c shimctl -e
complete -c shimctl -f
@FISH_SUBCOMMANDS@
complete -c shimctl -n "__fish_seen_subcommand_from init" -a "bash zsh fish"
@FISH_VM_SUBCOMMANDS@
complete -c shimctl -n "__fish_seen_subcommand_from explain bypass install uninstall" -a "@AGENTS@"
complete -c shimctl -n "__fish_seen_subcommand_from share unshare" -a "(__fish_complete_directories)"
@FISH_FLAGS@
