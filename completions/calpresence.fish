# fish completion for calpresence:
#
#   install -Dm644 completions/calpresence.fish ~/.config/fish/completions/calpresence.fish
#
# Kept in step with the binary by internal/shipped's tests.

set -l commands init run demo check events preview explain set status version help
complete -c calpresence -f

complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a init -d 'write a commented starter config'
complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a run -d 'the agent: poll calendars, publish presence'
complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a demo -d 'the main job on an embedded example, dry-run'
complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a check -d 'validate a config or rules without network I/O'
complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a events -d 'expanded occurrences of calendars'
complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a preview -d 'the presence timeline'
complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a explain -d 'why presence is what it is at a moment'
complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a set -d 'your own status, at the running agent'
complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a status -d 'each user\'s presence at the running agent'
complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a version -d 'version, commit, Go version'
complete -c calpresence -n "not __fish_seen_subcommand_from $commands" -a help -d 'list the commands'

# IANA zone names: the paths under the zone database.
function __calpresence_zones
	string replace -r '^/usr/share/zoneinfo/' '' /usr/share/zoneinfo/*/* /usr/share/zoneinfo/*/*/*
	echo UTC
end

# Flags of several commands.
complete -c calpresence -n "__fish_seen_subcommand_from init run check events preview explain set status" -o config -r -F -d 'config file'
complete -c calpresence -n "__fish_seen_subcommand_from init events preview explain" -o ics -r -F -d 'an ICS calendar: file path or URL (repeatable)'
complete -c calpresence -n "__fish_seen_subcommand_from init demo events preview explain" -o tz -x -a '(__calpresence_zones)' -d 'IANA zone'
complete -c calpresence -n "__fish_seen_subcommand_from events preview explain" -o me -x -d 'the user\'s calendar address (repeatable)'
complete -c calpresence -n "__fish_seen_subcommand_from events preview explain" -o user -x -d 'with several [[user]] tables: the AOR to read'
complete -c calpresence -n "__fish_seen_subcommand_from events preview" -o from -x -d 'start of the window: RFC 3339 time or a date'
complete -c calpresence -n "__fish_seen_subcommand_from events preview" -o to -x -d 'end of the window, exclusive'
complete -c calpresence -n "__fish_seen_subcommand_from events preview" -o json -d 'print a JSON array'
complete -c calpresence -n "__fish_seen_subcommand_from check preview explain" -o rules -r -F -d 'rules file'
complete -c calpresence -n "__fish_seen_subcommand_from preview" -o svg -r -F -d 'write the timeline as an SVG chart'
complete -c calpresence -n "__fish_seen_subcommand_from preview" -o html -r -F -d 'write the chart and a table as an HTML page'
complete -c calpresence -n "__fish_seen_subcommand_from run demo" -o log-level -x -a 'debug info warn error' -d 'log level'

# init
complete -c calpresence -n "__fish_seen_subcommand_from init" -o force -d 'overwrite an existing config'
# check
complete -c calpresence -n "__fish_seen_subcommand_from check" -o online -d 'also reach the presence server and log into each calendar'
# run
complete -c calpresence -n "__fish_seen_subcommand_from run" -o log-format -x -a 'text json' -d 'log format'
complete -c calpresence -n "__fish_seen_subcommand_from run" -o metrics-addr -x -d 'serve Prometheus metrics, /healthz and the status page on this address'
complete -c calpresence -n "__fish_seen_subcommand_from run" -o metrics-token-file -r -F -d 'require the bearer token in this file on the metrics listener'
complete -c calpresence -n "__fish_seen_subcommand_from run" -o metrics-basic-auth-file -r -F -d 'require the basic auth USER:PASSWORD in this file on the metrics listener'
complete -c calpresence -n "__fish_seen_subcommand_from run" -o shard -x -d 'serve only the users of shard K/N (auto/N: K from the hostname)'
complete -c calpresence -n "__fish_seen_subcommand_from run" -o stale-after -x -d 'ignore last good calendar data older than this'
# demo
complete -c calpresence -n "__fish_seen_subcommand_from demo" -o speed -x -d 'run the clock N times faster'
complete -c calpresence -n "__fish_seen_subcommand_from demo" -o start -x -d 'simulated start time'
complete -c calpresence -n "__fish_seen_subcommand_from demo" -o duration -x -d 'stop after this much simulated time'
# explain
complete -c calpresence -n "__fish_seen_subcommand_from explain" -o at -x -d 'the instant to explain'
complete -c calpresence -n "__fish_seen_subcommand_from init explain" -o aor -x -d 'the presentity when no config gives one'
complete -c calpresence -n "__fish_seen_subcommand_from explain" -o pidf -d 'print only the PIDF document'
complete -c calpresence -n "__fish_seen_subcommand_from explain" -o dialog -d 'print only the dialog-info document for BLF lamps'
# set, status
complete -c calpresence -n "__fish_seen_subcommand_from set status" -o user -x -d 'the user\'s AOR'
complete -c calpresence -n "__fish_seen_subcommand_from set" -a 'available busy dnd away' -d 'state'
complete -c calpresence -n "__fish_seen_subcommand_from set" -o for -x -d 'end the status after this long'
complete -c calpresence -n "__fish_seen_subcommand_from set" -o until -x -d 'end the status at HH:MM or an RFC 3339 time'
complete -c calpresence -n "__fish_seen_subcommand_from set" -o note -x -d 'the note to publish'
complete -c calpresence -n "__fish_seen_subcommand_from set" -o clear -d 'end your own status now'
complete -c calpresence -n "__fish_seen_subcommand_from status" -o json -d 'print JSON'
