// Package metrics serves the agent's Stats as Prometheus metrics
// (CONTRACT.md) and /healthz.
package metrics

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/calpresence/calpresence/internal/agent"
)

// The metrics are the Prometheus text exposition format (version 0.0.4),
// written by hand: a few gauges and counters do not justify a dependency.
// Values are read from the agent at scrape time, so a user costs no
// registry entries.

// promWriter writes metric families; the first write error sticks.
type promWriter struct {
	w   *bufio.Writer
	err error
}

func newPromWriter(w io.Writer) *promWriter { return &promWriter{w: bufio.NewWriter(w)} }

// family starts a metric family with its HELP and TYPE lines.
func (p *promWriter) family(name, typ, help string) {
	p.printf("# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

// sample writes one sample; labels are name, value pairs.
func (p *promWriter) sample(name string, value float64, labels ...string) {
	var b strings.Builder
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(labels[i])
			b.WriteString(`="`)
			b.WriteString(escapeLabel(labels[i+1]))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(formatValue(value))
	b.WriteByte('\n')
	p.printf("%s", b.String())
}

func (p *promWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// Flush writes out what is buffered and returns the first error.
func (p *promWriter) Flush() error {
	if p.err == nil {
		p.err = p.w.Flush()
	}
	return p.err
}

// escapeLabel escapes a label value: backslash, double quote and line feed.
func escapeLabel(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// escapeHelp escapes a HELP text: backslash and line feed.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// unixSeconds is t as a metric value; the zero time is 0.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// Reloads counts config reloads (SIGHUP) by result.
type Reloads struct{ OK, Refused atomic.Uint64 }

// Statser is what metrics read of the agent.
type Statser interface{ Stats() agent.Stats }

// Handler serves /metrics from the agent's Stats and /healthz.
func Handler(a Statser, reloads *Reloads) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		pw := newPromWriter(w)
		writeMetrics(pw, a.Stats(), reloads)
		pw.Flush()
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	return mux
}

var resultNames = [7]string{"error", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"}

// writeMetrics writes the agent's metrics.
func writeMetrics(pw *promWriter, st agent.Stats, reloads *Reloads) {
	pw.family("calpresence_users", "gauge", "Users the agent publishes presence for.")
	pw.sample("calpresence_users", float64(len(st.Users)))
	pw.family("calpresence_config_reloads_total", "counter", "Configuration reloads (SIGHUP) by result.")
	pw.sample("calpresence_config_reloads_total", float64(reloads.OK.Load()), "result", "ok")
	pw.sample("calpresence_config_reloads_total", float64(reloads.Refused.Load()), "result", "refused")

	// calendars calls f for every calendar of every user.
	calendars := func(f func(user string, c *agent.CalendarStats)) {
		for i := range st.Users {
			for j := range st.Users[i].Calendars {
				f(st.Users[i].ID, &st.Users[i].Calendars[j])
			}
		}
	}
	pw.family("calpresence_calendar_polls_total", "counter", "Calendar polls.")
	calendars(func(u string, c *agent.CalendarStats) {
		pw.sample("calpresence_calendar_polls_total", float64(c.Poll.Polls), "user", u, "calendar", c.Name)
	})
	pw.family("calpresence_calendar_poll_errors_total", "counter", "Calendar polls that failed.")
	calendars(func(u string, c *agent.CalendarStats) {
		pw.sample("calpresence_calendar_poll_errors_total", float64(c.Poll.Errors), "user", u, "calendar", c.Name)
	})
	pw.family("calpresence_calendar_last_success_timestamp_seconds", "gauge", "When the calendar was last read successfully (0: never).")
	calendars(func(u string, c *agent.CalendarStats) {
		pw.sample("calpresence_calendar_last_success_timestamp_seconds", unixSeconds(c.LastGood), "user", u, "calendar", c.Name)
	})
	pw.family("calpresence_calendar_stale", "gauge", "1 while the calendar's last good data is older than the staleness limit and is ignored.")
	calendars(func(u string, c *agent.CalendarStats) {
		v := 0.0
		if c.Stale {
			v = 1
		}
		pw.sample("calpresence_calendar_stale", v, "user", u, "calendar", c.Name)
	})
	pw.family("calpresence_publish_requests_total", "counter", "PUBLISH requests by result: the response's status class, or error when none came.")
	for _, u := range st.Users {
		for i, n := range u.Requests {
			if n > 0 || i == 2 {
				pw.sample("calpresence_publish_requests_total", float64(n), "user", u.ID, "result", resultNames[i])
			}
		}
	}
	pw.family("calpresence_dialog_publish_requests_total", "counter", "PUBLISH requests of the dialog publication for BLF lamps (Event: dialog) by result, as calpresence_publish_requests_total; only users that published one.")
	for _, u := range st.Users {
		if u.DialogRequests == [7]uint64{} {
			continue
		}
		for i, n := range u.DialogRequests {
			if n > 0 || i == 2 {
				pw.sample("calpresence_dialog_publish_requests_total", float64(n), "user", u.ID, "result", resultNames[i])
			}
		}
	}
	pw.family("calpresence_blf", "gauge", "1 while the user's BLF lamp is lit (a segment whose rule says blf = true), else 0.")
	for _, u := range st.Users {
		v := 0.0
		if u.BLF {
			v = 1
		}
		pw.sample("calpresence_blf", v, "user", u.ID)
	}
	pw.family("calpresence_repairs_total", "counter", "Publications republished at once because the presence server told watchers something else ([sip] verify).")
	for _, u := range st.Users {
		pw.sample("calpresence_repairs_total", float64(u.Repairs), "user", u.ID)
	}
	pw.family("calpresence_presence", "gauge", "The presence in force for the user: 1 for the current basic status and activities.")
	for _, u := range st.Users {
		if u.HasPresence {
			pw.sample("calpresence_presence", 1, "user", u.ID, "basic", u.Current.Basic, "activities", u.Current.Activities)
		}
	}
	pw.family("calpresence_next_boundary_timestamp_seconds", "gauge", "When the user's presence changes next, as far as the timeline reaches.")
	for _, u := range st.Users {
		if u.HasPresence {
			pw.sample("calpresence_next_boundary_timestamp_seconds", unixSeconds(u.Current.End), "user", u.ID)
		}
	}
}

// Serve listens on addr before returning, so that a bad address is
// a start-up error, then serves until ctx is done.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server failed", "addr", addr, "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return nil
}
