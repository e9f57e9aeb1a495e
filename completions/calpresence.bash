# bash completion for calpresence.
#
#   install -Dm644 completions/calpresence.bash \
#     ~/.local/share/bash-completion/completions/calpresence
#
# (system-wide: /usr/share/bash-completion/completions/calpresence).
# Kept in step with the binary by internal/shipped's tests.

_calpresence() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "init run demo check events preview explain set status version help -h" -- "$cur"))
		return
	fi
	local inputs="-config -ics -tz -me -user" flags
	case ${COMP_WORDS[1]} in
	run) flags="-config -log-format -log-level -metrics-addr -metrics-token-file -metrics-basic-auth-file -shard -stale-after" ;;
	demo) flags="-speed -tz -start -duration -log-level" ;;
	init) flags="-config -aor -tz -ics -force" ;;
	check) flags="-config -rules -online" ;;
	events) flags="$inputs -from -to -json" ;;
	preview) flags="$inputs -rules -from -to -json -svg -html" ;;
	explain) flags="$inputs -rules -at -aor -pidf -dialog" ;;
	set) flags="-config -user -for -until -note -clear available busy dnd away" ;;
	status) flags="-config -user -json" ;;
	*) return ;;
	esac
	case $prev in
	-config | -rules | -ics | -svg | -html | -metrics-token-file | -metrics-basic-auth-file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-log-format)
		COMPREPLY=($(compgen -W "text json" -- "$cur"))
		return
		;;
	-log-level)
		COMPREPLY=($(compgen -W "debug info warn error" -- "$cur"))
		return
		;;
	-tz)
		# IANA zone names are the paths under the zone database.
		if [[ -d /usr/share/zoneinfo ]]; then
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(cd /usr/share/zoneinfo && compgen -f -- "$cur"))
		fi
		return
		;;
	-me | -user | -aor | -at | -from | -to | -start | -duration | -speed | -metrics-addr | -shard | -stale-after | -for | -until | -note)
		return # a value only the user knows
		;;
	esac
	COMPREPLY=($(compgen -W "$flags -h" -- "$cur"))
}
complete -F _calpresence calpresence
