package testserver

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// Baresip is a running baresip (Debian package baresip) that watches one
// presentity through a presence server, as a colleague's softphone does:
// its presence module SUBSCRIBEs, and Status tells what it shows.
type Baresip struct {
	http string // its httpd module's address
}

// StartBaresip starts baresip with one account (no registration) whose
// requests go to proxy ("127.0.0.1:PORT") and one contact, presentity,
// watched for presence. It skips t without baresip (fails under
// CALPRESENCE_INTEGRATION=1).
func StartBaresip(t testing.TB, proxy, presentity string) *Baresip {
	t.Helper()
	bin := LookPath(t, "baresip", "baresip")
	dir := t.TempDir()
	sipPort, httpPort := FreePort(t), FreePort(t)
	files := map[string]string{
		"config": fmt.Sprintf(`module_path /usr/lib/baresip/modules
sip_listen 127.0.0.1:%d
audio_player aufile,/dev/null
audio_source aufile,/dev/null
audio_alert aufile,/dev/null
module g711.so
module account.so
module contact.so
module presence.so
module menu.so
module httpd.so
http_listen 127.0.0.1:%d
`, sipPort, httpPort),
		"accounts": fmt.Sprintf("<sip:watcher@example.com;transport=udp>;regint=0;outbound=\"sip:%s;transport=udp\"\n", proxy),
		"contacts": fmt.Sprintf("\"Colleague\" <%s>;presence=p2p\n", presentity),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatalf("StartBaresip: %v", err)
		}
	}
	Start(t, dir, []string{"HOME=" + dir}, bin, "-f", dir, "-v")
	b := &Baresip{http: fmt.Sprintf("127.0.0.1:%d", httpPort)}
	WaitTCP(t, b.http, 10*time.Second)
	return b
}

// statusRE finds the contact's status in the output of baresip's
// "contacts" command (colours removed), e.g. `>     Offline Colleague <sip:...>`.
var (
	statusRE = regexp.MustCompile(`(?m)^>?\s*([A-Za-z-]+) Colleague <`)
	ansiRE   = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

// Status is what baresip shows of the presentity: "Unknown", "Online",
// "Offline", "Busy" or "Away" (baresip's contact_presence_str).
func (b *Baresip) Status() (string, error) {
	res, err := http.Get("http://" + b.http + "/?" + url.QueryEscape("/contacts"))
	if err != nil {
		return "", fmt.Errorf("baresip contacts: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "", fmt.Errorf("baresip contacts: %w", err)
	}
	m := statusRE.FindSubmatch(ansiRE.ReplaceAll(body, nil))
	if m == nil {
		return "", fmt.Errorf("baresip contacts: no status of the contact in %q", body)
	}
	return string(m[1]), nil
}
