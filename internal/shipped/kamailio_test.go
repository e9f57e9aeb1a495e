package shipped

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
)

// kamailioTables are the db_text tables examples/kamailio-dnd.cfg needs.
var kamailioTables = []string{"version", "presentity", "active_watchers", "watchers", "xcap"}

// A watcher's SUBSCRIBE makes presence write an active_watchers row (on its
// db timer and at shutdown). Kamailio's own db_text schema declares flags
// NOT NULL, which presence leaves unset, so every watcher is logged as
// "null value not allowed - field 25" and lost across a restart; the
// shipped tables must take the row, with examples/kamailio-dnd.cfg and with
// Debian's stock config merged as the README's quick start says.
func TestKamailioTablesTakeWatchers(t *testing.T) {
	shipped := filepath.Join("..", "..", "examples", "kamailio", "db")
	const kamailios = "/usr/share/kamailio/dbtext/kamailio"
	tests := []struct {
		name    string
		server  server
		tables  string
		wantErr bool
	}{
		{"dnd.cfg, shipped tables", dndServer, shipped, false},
		{"dnd.cfg, kamailio's own tables", dndServer, kamailios, true},
		{"stock config merged, shipped tables", stockServer, shipped, false},
		{"stock config merged, kamailio's own tables", stockServer, kamailios, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(tt.tables, "active_watchers")); err != nil {
				if tt.wantErr {
					t.Skipf("no Kamailio schema to compare with: %v", err)
				}
				t.Fatal(err)
			}
			log, rows := subscribeOnce(t, tt.server, tt.tables)
			gotErr := strings.Contains(log, "null value not allowed") || strings.Contains(log, "unsuccessful sql insert")
			if gotErr != tt.wantErr {
				t.Errorf("Kamailio (%s) logged a db_text insert error = %v, want %v\n%s", tt.name, gotErr, tt.wantErr, log)
			}
			if !tt.wantErr && !regexp.MustCompile(`(?m)^\d+:sip\\:alice@[^:]+(\\:\d+)?:watcher:`).MatchString(rows) {
				t.Errorf("active_watchers after the SUBSCRIBE =\n%s\nwant a row for a watcher of alice", rows)
			}
		})
	}
}

// A server returns the config to run Kamailio with, its extra command-line
// arguments and the SIP domain it serves, for db_text tables in db and one
// listen address 127.0.0.1:port.
type server func(t *testing.T, db string, port int) (cfg string, args []string, domain string)

func dndServer(t *testing.T, db string, port int) (string, []string, string) {
	cfg, err := filepath.Abs(filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	return cfg, []string{"-A", `DBURL="text://` + db + `"`, "-A", "LISTEN_UDP=udp:" + listen, "-A", "LISTEN_TCP=tcp:" + listen}, "example.com"
}

// stockServer is Debian's /etc/kamailio/kamailio.cfg with the README's
// edits: WITH_PRESENCE, a db_text DBURL, db_text loaded before presence, one
// listen address.
func stockServer(t *testing.T, db string, port int) (string, []string, string) {
	const stock = "/etc/kamailio/kamailio.cfg"
	b, err := os.ReadFile(stock)
	if err != nil {
		t.Skipf("no stock Kamailio config: %v", err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	s := string(b)
	for _, edit := range []struct{ old, new string }{
		{"#!KAMAILIO\n", "#!KAMAILIO\n#!define WITH_PRESENCE\n#!define DBURL \"text://" + db + "\"\n"},
		{"#!ifdef WITH_PRESENCE\nloadmodule \"presence.so\"", "#!ifdef WITH_PRESENCE\nloadmodule \"db_text.so\"\nloadmodule \"presence.so\""},
		{"\n####### Modules Section ########", "\nlisten=udp:" + listen + "\nlisten=tcp:" + listen + "\n\n####### Modules Section ########"},
	} {
		if !strings.Contains(s, edit.old) {
			t.Skipf("%s has changed: no %q to merge into", stock, edit.old)
		}
		s = strings.Replace(s, edit.old, edit.new, 1)
	}
	cfg := filepath.Join(t.TempDir(), "kamailio.cfg")
	if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	// The stock config relays nothing for a domain that is not its own;
	// without a port in the domain that would be 5060.
	return cfg, nil, listen
}

// subscribeOnce starts Kamailio as srv says on a copy of the db_text tables
// in dir, sends one SUBSCRIBE for alice with SIPp, stops Kamailio and
// returns its log and the active_watchers table it left.
func subscribeOnce(t *testing.T, srv server, dir string) (log, rows string) {
	t.Helper()
	bin := testserver.LookPath(t, "kamailio", "kamailio")
	testserver.LookPath(t, "sipp", "sip-tester")
	work := t.TempDir()
	db := filepath.Join(work, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range kamailioTables {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(db, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := testserver.FreePort(t)
	listen := "127.0.0.1:" + strconv.Itoa(port)
	cfg, args, domain := srv(t, db, port)
	p := testserver.Start(t, work, nil, bin, append([]string{"-f", cfg, "-DD", "-E", "-Y", work, "-m", "64"}, args...)...)
	testserver.WaitTCP(t, listen, 10*time.Second)

	testserver.RunSIPp(t, filepath.Join("..", "..", "examples", "kamailio", "subscribe.xml"), listen,
		"-s", "alice", "-key", "domain", domain, "-m", "1", "-timeout", "20s")

	// Stop it as systemd would: presence writes its watchers on SIGTERM,
	// before the main process exits (a loaded machine takes its time).
	pid := p.Cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.Exited():
	case <-time.After(60 * time.Second):
		t.Fatalf("kamailio (pid %d) did not stop within 60s", pid)
	}
	b, err := os.ReadFile(filepath.Join(db, "active_watchers"))
	if err != nil {
		t.Fatal(err)
	}
	return p.Output.String(), string(b)
}

// The presence server of the publisher's tests (publisher/testdata/kamailio,
// the tables of examples/kamailio-presence.cfg) runs on the same tables as
// the shipped ones.
func TestKamailioTestTablesAreShipped(t *testing.T) {
	for _, name := range []string{"presentity", "active_watchers", "watchers", "xcap"} {
		shipped, err := os.ReadFile(filepath.Join("..", "..", "examples", "kamailio", "db", name))
		if err != nil {
			t.Fatal(err)
		}
		test, err := os.ReadFile(filepath.Join("..", "..", "publisher", "testdata", "kamailio", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(test) != string(shipped) {
			t.Errorf("publisher/testdata/kamailio/%s = %q, want the shipped examples/kamailio/db/%s %q", name, test, name, shipped)
		}
	}
}
