package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// KamailioOptions configure StartKamailio.
type KamailioOptions struct {
	// Users with their plain-text passwords; set to require digest auth
	// (qop=auth) on PUBLISH.
	Users map[string]string
	// Algorithm of the digest challenge: "MD5" (default) or "SHA-256".
	Algorithm string
	// NonceExpire is how long a nonce lives before the server answers
	// stale=true (default 300s).
	NonceExpire time.Duration
	// MinExpiresPublish makes the server answer 423 to a PUBLISH asking
	// for less (Kamailio's own min_expires is for SUBSCRIBE only).
	MinExpiresPublish int
	// CleanPeriod is how often expired publications are dropped (default
	// Kamailio's 100s).
	CleanPeriod time.Duration
	// SharedMemMB is Kamailio's shared memory (default 512 MB): finished
	// transactions stay in it for 5s, so a few thousand PUBLISHes a second
	// need more than Kamailio's default 64 MB.
	SharedMemMB int
	// Port to listen on (UDP and TCP); default a free one.
	Port int
	// DialogInfo loads presence_dialoginfo: Event: dialog (RFC 4235) for
	// BLF keys. ForceSingleDialog and ForceDummyDialog set its
	// force_single_dialog and force_dummy_dialog.
	DialogInfo                          bool
	ForceSingleDialog, ForceDummyDialog bool
	// UDPOnly listens on UDP only, like a UDP-only PBX: TCP to the port
	// is refused.
	UDPOnly bool
}

// Kamailio is a running Kamailio presence server (presence + presence_xml,
// and presence_dialoginfo with KamailioOptions.DialogInfo; db_text storage)
// on 127.0.0.1.
type Kamailio struct {
	Addr string // "127.0.0.1:port", UDP and TCP
	Port int
	Dir  string // its db_text tables
	Proc *Process

	t       testing.TB
	bin     string
	args    []string
	udpOnly bool
}

// KamailioConfig returns the path of the shipped test configuration,
// publisher/testdata/kamailio.cfg.
func KamailioConfig() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "publisher", "testdata", "kamailio.cfg")
}

func kamailioModules() string {
	dirs, _ := filepath.Glob("/usr/lib/*/kamailio/modules")
	dirs = append(dirs, "/usr/lib/kamailio/modules", "/usr/lib64/kamailio/modules", "/usr/local/lib64/kamailio/modules")
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "presence.so")); err == nil {
			return d
		}
	}
	return ""
}

// StartKamailio starts Kamailio with the test configuration on a free
// loopback port and a fresh db_text directory, and stops it when t ends.
// It skips t when kamailio or its presence modules are missing (fails under
// CALPRESENCE_INTEGRATION=1).
func StartKamailio(t testing.TB, o KamailioOptions) *Kamailio {
	t.Helper()
	bin := LookPath(t, "kamailio", "kamailio")
	mods := kamailioModules()
	if mods == "" {
		missing(t, "kamailio presence module not installed (Debian package kamailio-presence-modules)")
	}
	port := o.Port
	if port == 0 {
		port = FreePort(t)
	}
	k := &Kamailio{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, t: t, bin: bin, udpOnly: o.UDPOnly}
	run := t.TempDir()
	k.Dir = filepath.Join(run, "db")
	k.resetDB(o.Users)
	shm := o.SharedMemMB
	if shm == 0 {
		shm = 512
	}
	k.args = []string{"-f", KamailioConfig(), "-DD", "-E", "-L", mods, "-Y", run, "-m", fmt.Sprint(shm),
		"-l", fmt.Sprintf("udp:127.0.0.1:%d", port),
		"-A", fmt.Sprintf(`DBURL="text://%s"`, k.Dir),
		"-A", fmt.Sprintf(`SERVER_ADDR="sip:127.0.0.1:%d"`, port),
	}
	if !o.UDPOnly {
		k.args = append(k.args, "-l", fmt.Sprintf("tcp:127.0.0.1:%d", port))
	}
	if len(o.Users) > 0 {
		k.args = append(k.args, "-A", "WITH_AUTH")
		if o.Algorithm != "" {
			k.args = append(k.args, "-A", fmt.Sprintf(`AUTH_ALGORITHM="%s"`, o.Algorithm))
		}
		if o.NonceExpire > 0 {
			k.args = append(k.args, "-A", fmt.Sprintf("NONCE_EXPIRE=%d", int(o.NonceExpire/time.Second)))
		}
	}
	if o.CleanPeriod > 0 {
		k.args = append(k.args, "-A", fmt.Sprintf("CLEAN_PERIOD=%d", max(1, int(o.CleanPeriod/time.Second))))
	}
	if o.DialogInfo {
		k.args = append(k.args, "-A", "WITH_DIALOGINFO")
		if o.ForceSingleDialog {
			k.args = append(k.args, "-A", "DIALOGINFO_SINGLE")
		}
		if o.ForceDummyDialog {
			k.args = append(k.args, "-A", "DIALOGINFO_DUMMY")
		}
	}
	if o.MinExpiresPublish > 0 {
		k.args = append(k.args, "-A", fmt.Sprintf("MIN_EXPIRES_PUBLISH=%d", o.MinExpiresPublish))
	}
	k.start()
	return k
}

// resetDB writes fresh db_text tables: the server's state is lost.
func (k *Kamailio) resetDB(users map[string]string) {
	k.t.Helper()
	src := filepath.Join(filepath.Dir(KamailioConfig()), "kamailio")
	if err := os.MkdirAll(k.Dir, 0o755); err != nil {
		k.t.Fatalf("kamailio db dir: %v", err)
	}
	for _, name := range []string{"version", "presentity", "active_watchers", "watchers", "xcap", "pua", "subscriber"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			k.t.Fatalf("kamailio db table: %v", err)
		}
		if name == "subscriber" {
			id := 1
			for u, pw := range users {
				b = fmt.Appendf(b, "%d:%s:%s:%s:unused:unused\n", id, u, "localhost", strings.ReplaceAll(pw, ":", `\:`))
				id++
			}
		}
		if err := os.WriteFile(filepath.Join(k.Dir, name), b, 0o644); err != nil {
			k.t.Fatalf("kamailio db table: %v", err)
		}
	}
}

func (k *Kamailio) start() {
	k.t.Helper()
	k.Proc = Start(k.t, filepath.Dir(k.Dir), nil, k.bin, k.args...)
	if k.udpOnly {
		WaitUDPBound(k.t, k.Addr, 10*time.Second)
		return
	}
	WaitTCP(k.t, k.Addr, 10*time.Second)
}

// Restart kills Kamailio (SIGKILL, no goodbye), wipes its state and starts
// it again on the same port, as after a crash on a server without
// persistent storage.
func (k *Kamailio) Restart(users map[string]string) {
	k.t.Helper()
	pid := k.Proc.Cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(-pid, 0) == nil {
		if time.Now().After(deadline) {
			k.t.Fatalf("kamailio (pid %d) did not die", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.resetDB(users)
	k.start()
}
