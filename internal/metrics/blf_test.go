package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/calpresence/calpresence/internal/agent"
)

// The dialog publication's requests are counted apart from presence, only
// for users that sent any; calpresence_blf says whose lamp is lit.
func TestMetricsBLF(t *testing.T) {
	lit := agent.UserStats{ID: "sip:alice@example.com", BLF: true}
	lit.Requests[2] = 7
	lit.DialogRequests[2], lit.DialogRequests[4] = 3, 1
	dark := agent.UserStats{ID: "sip:bob@example.com"}
	dark.Requests[2] = 2
	srv := httptest.NewServer(Handler(fixedStats{Users: []agent.UserStats{lit, dark}}, &Reloads{}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(b)
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"# TYPE calpresence_dialog_publish_requests_total counter\n", true},
		{`calpresence_dialog_publish_requests_total{user="sip:alice@example.com",result="2xx"} 3` + "\n", true},
		{`calpresence_dialog_publish_requests_total{user="sip:alice@example.com",result="4xx"} 1` + "\n", true},
		{`calpresence_dialog_publish_requests_total{user="sip:bob@example.com"`, false},
		{`calpresence_publish_requests_total{user="sip:alice@example.com",result="2xx"} 7` + "\n", true},
		{`calpresence_publish_requests_total{user="sip:alice@example.com",result="4xx"}`, false},
		{`calpresence_blf{user="sip:alice@example.com"} 1` + "\n", true},
		{`calpresence_blf{user="sip:bob@example.com"} 0` + "\n", true},
	} {
		if got := strings.Contains(body, tc.line); got != tc.want {
			t.Errorf("GET /metrics has %q = %t, want %t; got\n%s", tc.line, got, tc.want, body)
		}
	}
}
