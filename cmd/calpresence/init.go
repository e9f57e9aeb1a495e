package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/calpresence/calpresence/internal/config"
	"github.com/calpresence/calpresence/publisher"
)

// runInit writes a commented starter config: the one user, one calendar
// and the presence server, each with its options commented out beside it,
// so that `check` passes on it as written and every line says what it is.
func runInit(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e.stderr, "init",
		"usage: calpresence init [-config FILE] [-aor URI] [-tz ZONE] [-ics PATH_OR_URL] [-force]",
		"Writes a commented starter config (it never overwrites one without -force).")
	path := fs.String("config", "", "where to write the config (default $XDG_CONFIG_HOME/calpresence/config.toml)")
	aor := fs.String("aor", "sip:alice@example.com", "the `URI` whose presence is published")
	tz := fs.String("tz", "UTC", "the IANA `ZONE` of the calendar's floating times and the times in notes")
	icsURL := fs.String("ics", "https://calendar.example.com/alice.ics", "the first calendar: an ICS `PATH_OR_URL`")
	force := fs.Bool("force", false, "overwrite an existing config")
	if err := parseFlags(fs, args); err != nil {
		return flagsExit(err)
	}
	if *path == "" {
		*path = config.DefaultPath(e.getenv)
	}
	if err := publisher.CheckAOR(*aor); err != nil {
		fmt.Fprintf(e.stderr, "calpresence init: -aor %s: %v\n", *aor, err)
		return 2
	}
	if _, err := time.LoadLocation(*tz); err != nil || *tz == "Local" || *tz == "" {
		fmt.Fprintf(e.stderr, "calpresence init: -tz %q: not an IANA zone, e.g. Europe/Berlin\n", *tz)
		return 2
	}
	data := starterConfig(*aor, *tz, *icsURL)
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	if err := os.MkdirAll(filepath.Dir(*path), 0o700); err != nil {
		fmt.Fprintf(e.stderr, "calpresence init: %v\n", err)
		return 1
	}
	f, err := os.OpenFile(*path, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		fmt.Fprintf(e.stderr, "calpresence init: %s exists; -force overwrites it\n", *path)
		return 2
	}
	if err == nil {
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence init: writing %s: %v\n", *path, err)
		return 1
	}
	fmt.Fprintf(e.stdout, "wrote %s\nnext: edit it, then `calpresence check -config %s` and `calpresence preview -config %s`\n", *path, *path, *path)
	return 0
}

// starterConfig is the config init writes.
func starterConfig(aor, tz, icsURL string) []byte {
	user := strings.TrimPrefix(strings.TrimPrefix(aor, "sips:"), "sip:")
	if i := strings.IndexByte(user, ';'); i >= 0 {
		user = user[:i]
	}
	r := strings.NewReplacer("@AOR@", strconv.Quote(aor), "@TZ@", strconv.Quote(tz), "@ICS@", strconv.Quote(icsURL),
		"@ME@", strconv.Quote("mailto:"+user))
	return []byte(r.Replace(starterTemplate))
}

const starterTemplate = `# calpresence config, written by ` + "`calpresence init`" + `.
# Check it with ` + "`calpresence check`" + `, see what it would publish with
# ` + "`calpresence preview`" + `, then start ` + "`calpresence run`" + `.
# Every key is described in ` + "`man calpresence`" + ` (docs/reference.md).

# The IANA zone for floating times, all-day dates and the times in notes
# ("In a meeting until 15:00").
timezone = @TZ@

# The mapping rules. Left out: the built-in copy of rules.example.toml
# (meetings are Do Not Disturb, lunch is "Out for lunch", vacations "On
# vacation"). A relative path is relative to this file.
#rules = "rules.toml"

# Your calendar addresses: your reply to an invitation (declined, tentative)
# is read from the attendee with one of these addresses.
me = [@ME@]

[sip]
# The presentity: whose presence is published.
aor = @AOR@
# Where PUBLISH requests go. Left out: located from the AOR's domain
# (RFC 3263: NAPTR, SRV, A/AAAA). sips: or ;transport=tls for TLS.
#proxy = "sip:pbx.example.com:5060;transport=tcp"
# Digest credentials, if the presence server asks for them. The password
# comes from an environment variable, a file (chmod 600) or a command; it is
# never logged.
#username = "alice"
#password_env = "CALPRESENCE_SIP_PASSWORD"
#password_file = "~/.config/calpresence/sip-password"
#password_command = ["pass", "show", "sip/alice"]
# The publication lifetime asked for, and how long one may outlive its
# segment: seconds, or a duration such as "1h".
#expires = "1h"
#grace = "2m"

# The first calendar: an ICS file or feed (a path, file://, http(s):// or
# webcal://, e.g. the "secret address in iCal format" of a Google calendar).
[[calendar]]
name = "work"
type = "ics"
url = @ICS@
# When to poll: a cron spec in the zone above, or "@every 5m" (the default).
# Presence changes at the events' start and end whatever this says.
poll = "@every 5m"

# A CalDAV calendar (Nextcloud, SOGo, Radicale, Baikal, iCloud, Fastmail):
# the server, your principal or one calendar's URL; calpresence finds the
# rest. ` + "`calpresence check -online`" + ` logs in and lists its calendars.
#[[calendar]]
#name = "team"
#type = "caldav"
#url = "https://dav.example.com/"
#username = "alice"
#password_env = "CALPRESENCE_DAV_PASSWORD"
#calendars = ["Work", "Team"]
#poll = "*/5 * * * *"
`
