package testserver

import (
	"os"
	"path/filepath"
	"time"
)

// Stop stops the process (SIGTERM, then SIGKILL) and waits for it.
func (p *Process) Stop() { p.stop(p.done) }

// Stop stops Kamailio and waits until it is gone: a server that is down.
func (k *KamailioDND) Stop() { k.Proc.Stop() }

// RestartEmpty starts Kamailio again on the same port with empty tables,
// as a server without persistent state comes back from a restart: every
// publication and subscription is gone. It returns once Kamailio accepts
// TCP connections again, the moment it "answers again".
func (k *KamailioDND) RestartEmpty() time.Time {
	t := k.t
	t.Helper()
	k.Proc.Stop()
	for _, tbl := range dndTables {
		data, err := os.ReadFile(filepath.Join(k.schema, tbl))
		if err != nil {
			t.Fatalf("RestartEmpty: %v", err)
		}
		if err := os.WriteFile(filepath.Join(k.db, tbl), data, 0o600); err != nil {
			t.Fatalf("RestartEmpty: %v", err)
		}
	}
	k.Proc = Start(t, k.dir, nil, k.bin, k.args...)
	WaitTCP(t, k.Addr(), 10*time.Second)
	return time.Now()
}
