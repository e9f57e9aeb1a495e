package testserver

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Xandikos is a Xandikos CalDAV server (Debian package xandikos) started
// by StartXandikos. Xandikos has no authentication of its own.
type Xandikos struct {
	URL       string // http://127.0.0.1:PORT/, the server root
	Principal string // the current user principal's path, "/user/"
	Dir       string // its storage directory
	Process   *Process
}

// StartXandikos starts Xandikos on a free loopback port serving a fresh
// directory, with the default principal /user/ and its calendar home
// /user/calendars/ (holding one calendar, "calendar"), and waits until it
// accepts connections. It skips t when Xandikos is not installed (fails it
// under CALPRESENCE_INTEGRATION=1).
func StartXandikos(t testing.TB) *Xandikos {
	t.Helper()
	bin := LookPath(t, "xandikos", "xandikos")
	dir := t.TempDir()
	root := filepath.Join(dir, "dav")
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := Start(t, dir, nil, bin, "-d", root, "--defaults", "-l", "127.0.0.1", "-p", strconv.Itoa(port),
		"--current-user-principal", "/user/")
	WaitTCP(t, addr, 30*time.Second)
	return &Xandikos{URL: "http://" + addr + "/", Principal: "/user/", Dir: root, Process: p}
}
