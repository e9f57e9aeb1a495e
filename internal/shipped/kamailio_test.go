package shipped

import (
	"os"
	"path/filepath"
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
// shipped tables must take the row.
func TestKamailioTablesTakeWatchers(t *testing.T) {
	tests := []struct {
		name    string
		tables  string
		wantErr bool
	}{
		{"shipped", filepath.Join("..", "..", "examples", "kamailio", "db"), false},
		{"kamailio's own", "/usr/share/kamailio/dbtext/kamailio", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(tt.tables, "active_watchers")); err != nil {
				if tt.wantErr {
					t.Skipf("no Kamailio schema to compare with: %v", err)
				}
				t.Fatal(err)
			}
			log, rows := subscribeOnce(t, tt.tables)
			gotErr := strings.Contains(log, "null value not allowed") || strings.Contains(log, "unsuccessful sql insert")
			if gotErr != tt.wantErr {
				t.Errorf("Kamailio with the %s tables logged a db_text insert error = %v, want %v\n%s", tt.name, gotErr, tt.wantErr, log)
			}
			if !tt.wantErr && !strings.Contains(rows, "sip\\:alice@example.com:watcher:example.com:") {
				t.Errorf("active_watchers after the SUBSCRIBE =\n%s\nwant a row for watcher@example.com watching alice@example.com", rows)
			}
		})
	}
}

// subscribeOnce starts Kamailio with examples/kamailio-dnd.cfg on the db_text
// tables from dir, sends one SUBSCRIBE with SIPp, stops Kamailio and returns
// its log and the active_watchers table it left.
func subscribeOnce(t *testing.T, dir string) (log, rows string) {
	t.Helper()
	bin := testserver.LookPath(t, "kamailio", "kamailio")
	testserver.LookPath(t, "sipp", "sip-tester")
	cfg, err := filepath.Abs(filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	if err != nil {
		t.Fatal(err)
	}
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
	p := testserver.Start(t, work, nil, bin, "-f", cfg, "-DD", "-E", "-Y", work, "-m", "64",
		"-A", `DBURL="text://`+db+`"`,
		"-A", "LISTEN_UDP=udp:"+listen, "-A", "LISTEN_TCP=tcp:"+listen)
	testserver.WaitTCP(t, listen, 10*time.Second)

	testserver.RunSIPp(t, filepath.Join("..", "..", "examples", "kamailio", "subscribe.xml"), listen,
		"-s", "alice", "-key", "domain", "example.com", "-m", "1", "-timeout", "20s")

	// Stop it as systemd would: presence writes its watchers on SIGTERM.
	pid := p.Cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(-pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("kamailio (pid %d) did not stop within 30s", pid)
		}
		time.Sleep(20 * time.Millisecond)
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
