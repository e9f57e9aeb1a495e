package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/calpresence/calpresence/internal/status"
	"github.com/calpresence/calpresence/internal/testserver"
)

// The status page of the real binary, publishing to the real Kamailio, as
// headless Chromium renders it: / lists every user with the state the
// presence server got, /user/AOR draws the day (a non-blank screenshot
// with the meeting's colour), and a private event's text appears nowhere.
func TestStatusPageInBrowser(t *testing.T) {
	kam := testserver.StartKamailioDND(t, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	chromium := testserver.FindChromium(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	const canary = "CANARY-private-e81f"
	now := time.Now().UTC()
	// The events span now; the notes name their ends in UTC.
	s, e := now.Add(-30*time.Minute).Truncate(time.Minute), now.Add(90*time.Minute).Truncate(time.Minute)
	ev := func(summary, extra string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:x1\r\nDTSTAMP:20260101T000000Z\r\n" +
			"DTSTART:" + s.Format("20060102T150405Z") + "\r\nDTEND:" + e.Format("20060102T150405Z") + "\r\nSUMMARY:" + summary + "\r\n" + extra +
			"END:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	users := []struct {
		name, ics, basic, activities, note string
	}{
		{"alice", ev("Review", "ATTENDEE:mailto:a@example.com\r\nATTENDEE:mailto:b@example.com\r\n"), "closed", "busy,meeting", "In a meeting until " + e.Format("15:04")},
		{"bob", ev("Lunch", ""), "open", "away,meal", "Out for lunch until " + e.Format("15:04")},
		{"carol", ev(canary, "CLASS:PRIVATE\r\nLOCATION:"+canary+"\r\n"), "open", "busy", "Busy until " + e.Format("15:04")},
	}
	cfg := fmt.Sprintf("timezone = \"UTC\"\nstate_dir = %q\n[sip]\nproxy = \"sip:%s;transport=tcp\"\n", filepath.Join(dir, "state"), kam.Addr())
	for _, u := range users {
		path := filepath.Join(dir, u.name+".ics")
		if err := os.WriteFile(path, []byte(u.ics), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("[[user]]\naor = \"sip:%s@example.com\"\n  [[user.calendar]]\n  name = \"work\"\n  type = \"ics\"\n  url = %q\n  poll = \"@every 1m\"\n", u.name, path)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w := startWatcher(t, kam.Addr(), "sip:alice@example.com")
	addr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	startAgent(t, bin, dir, "agent", 0, []string{"-config", cfgPath, "-metrics-addr", addr})
	w.waitFor(t, "alice's meeting at Kamailio", time.Now().Add(15*time.Second), inMeeting("sip:alice@example.com"))

	// Every user's publication was accepted before the browser looks.
	base := "http://" + addr
	for deadline := time.Now().Add(15 * time.Second); ; {
		var st status.StatusJSON
		if res, err := http.Get(base + "/api/status"); err == nil {
			json.NewDecoder(res.Body).Decode(&st)
			res.Body.Close()
		}
		ok := len(st.Users) == len(users)
		for _, u := range st.Users {
			ok = ok && u.Presence != nil && u.Requests["2xx"] > 0
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/api/status: not every user published: %+v", st)
		}
		time.Sleep(200 * time.Millisecond) // polling a subprocess, not timing
	}

	dom := chromium.DumpDOM(t, base+"/")
	if strings.Contains(dom, canary) {
		t.Errorf("the status page shows a private event's text")
	}
	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][3]string{}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "tr" && hasClass(n, "user") {
			note := ""
			for d := range n.Descendants() {
				if d.Type == html.ElementNode && d.Data == "td" && hasClass(d, "note") && d.FirstChild != nil {
					note = d.FirstChild.Data
				}
			}
			got[attrOf(n, "data-aor")] = [3]string{attrOf(n, "data-basic"), attrOf(n, "data-activities"), note}
		}
	}
	for _, u := range users {
		aor := "sip:" + u.name + "@example.com"
		if want := [3]string{u.basic, u.activities, u.note}; got[aor] != want {
			t.Errorf("Chromium's DOM of / shows %s as %q, want %q", aor, got[aor], want)
		}
	}

	for _, u := range users {
		page := base + "/user/sip:" + u.name + "@example.com"
		dom := chromium.DumpDOM(t, page)
		if strings.Contains(dom, canary) {
			t.Errorf("%s shows a private event's text", page)
		}
		if !strings.Contains(dom, `<svg`) || !strings.Contains(dom, u.note) || !strings.Contains(dom, `data-basic="`+u.basic+`" data-activities="`+u.activities+`"`) {
			t.Errorf("Chromium's DOM of %s lacks the chart or the segment %s %s %q", page, u.basic, u.activities, u.note)
		}
	}

	// The picture: alice's day, drawn, with the meeting in its colour.
	shot := filepath.Join(t.ArtifactDir(), "alice.png") // kept with go test -artifacts
	chromium.Screenshot(t, base+"/user/sip:alice@example.com", shot, 1100, 900)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("the screenshot is no PNG: %v", err)
	}
	white, closed, total := pixels(img)
	if frac := float64(total-white) / float64(total); frac < 0.03 {
		t.Errorf("the screenshot is blank: %.1f%% of pixels not white", 100*frac)
	}
	if closed < 200 {
		t.Errorf("the screenshot has %d pixels of the closed colour, want the meeting drawn (≥ 200)", closed)
	}
	t.Logf("screenshot %s: %d×%d, %.1f%% not white, %d pixels of the meeting", shot, img.Bounds().Dx(), img.Bounds().Dy(),
		100*float64(total-white)/float64(total), closed)
}

// pixels counts white pixels and pixels near the closed colour (#c8423b).
func pixels(img image.Image) (white, closed, total int) {
	b := img.Bounds()
	near := func(v, want uint32) bool { v >>= 8; return v+12 >= want && v <= want+12 }
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if r>>8 > 245 && g>>8 > 245 && bl>>8 > 245 {
				white++
			}
			if near(r, 0xc8) && near(g, 0x42) && near(bl, 0x3b) {
				closed++
			}
		}
	}
	return white, closed, total
}

func hasClass(n *html.Node, c string) bool {
	return strings.Contains(" "+attrOf(n, "class")+" ", " "+c+" ")
}

func attrOf(n *html.Node, k string) string {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val
		}
	}
	return ""
}
