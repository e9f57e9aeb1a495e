package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// KamailioDND is a Kamailio running the project's Do Not Disturb config
// (examples/kamailio-dnd.cfg): registrar, proxy and presence server in one,
// listening on UDP and TCP on 127.0.0.1:Port.
type KamailioDND struct {
	Port int
	Proc *Process

	t          testing.TB // for RestartEmpty (kamailio_dnd_restart.go)
	bin, dir   string
	db, schema string
	args       []string
}

// Addr is host:port of the server.
func (k *KamailioDND) Addr() string { return "127.0.0.1:" + strconv.Itoa(k.Port) }

// dndTables are the db_text tables that the presence modules read.
var dndTables = []string{"version", "presentity", "active_watchers", "watchers", "xcap"}

// StartKamailioDND starts Kamailio with the config at cfg (a path to
// examples/kamailio-dnd.cfg), its db_text tables in a temporary directory,
// and stops it when t ends.
func StartKamailioDND(t testing.TB, cfg string) *KamailioDND {
	t.Helper()
	return StartKamailioDNDWith(t, cfg, KamailioDNDOptions{})
}

// KamailioDNDOptions tune the Kamailio that StartKamailioDNDWith starts.
type KamailioDNDOptions struct {
	// SharedMemMB is Kamailio's shared memory (default 256 MB, thousands
	// of presentities): db_text keeps every presentity in it, and every
	// finished transaction stays there for 5s, so tens of thousands of
	// users publishing at once need a GB or more.
	SharedMemMB int
}

// StartKamailioDNDWith is StartKamailioDND with options.
func StartKamailioDNDWith(t testing.TB, cfg string, o KamailioDNDOptions) *KamailioDND {
	t.Helper()
	shm := o.SharedMemMB
	if shm <= 0 {
		shm = 256
	}
	bin := LookPath(t, "kamailio", "kamailio")
	// The shipped tables (examples/kamailio/db), not Kamailio's own, whose
	// active_watchers refuses the rows presence writes.
	schema := filepath.Join(filepath.Dir(KamailioConfig()), "..", "..", "examples", "kamailio", "db")
	if kamailioModules() == "" {
		missing(t, "kamailio presence module missing (Debian package kamailio-presence-modules)")
	}
	abs, err := filepath.Abs(cfg)
	if err != nil {
		t.Fatalf("StartKamailioDND: %v", err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	run := filepath.Join(dir, "run")
	for _, d := range []string{db, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatalf("StartKamailioDND: %v", err)
		}
	}
	for _, tbl := range dndTables {
		data, err := os.ReadFile(filepath.Join(schema, tbl))
		if err != nil {
			t.Fatalf("StartKamailioDND: %v", err)
		}
		if err := os.WriteFile(filepath.Join(db, tbl), data, 0o600); err != nil {
			t.Fatalf("StartKamailioDND: %v", err)
		}
	}
	port := FreePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{"-f", abs, "-DD", "-E", "-Y", run, "-m", strconv.Itoa(shm),
		"-A", fmt.Sprintf("DBURL=\"text://%s\"", db),
		"-A", "LISTEN_UDP=udp:" + listen, "-A", "LISTEN_TCP=tcp:" + listen}
	p := Start(t, dir, nil, bin, args...)
	WaitTCP(t, listen, 10*time.Second)
	return &KamailioDND{Port: port, Proc: p, t: t, bin: bin, dir: dir, db: db, schema: schema, args: args}
}
