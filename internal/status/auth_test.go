package status

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	both := Credentials{Token: "s3cret-token", User: "admin", Password: "pw:with:colons"}
	tests := []struct {
		name  string
		creds Credentials
		path  string
		auth  func(*http.Request)
		code  int
		www   string
	}{
		{"open", Credentials{}, "/", nil, 204, ""},
		{"no credentials", both, "/", nil, 401, `Basic realm="calpresence", charset="UTF-8"`},
		{"healthz stays open", both, "/healthz", nil, 204, ""},
		{"metrics guarded", Credentials{Token: "t"}, "/metrics", nil, 401, `Bearer realm="calpresence"`},
		{"token", both, "/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-token") }, 204, ""},
		{"wrong token", both, "/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret-tokeN") }, 401, `Basic realm="calpresence", charset="UTF-8"`},
		{"basic", both, "/api/status", func(r *http.Request) { r.SetBasicAuth("admin", "pw:with:colons") }, 204, ""},
		{"basic wrong password", both, "/", func(r *http.Request) { r.SetBasicAuth("admin", "pw") }, 401, `Basic realm="calpresence", charset="UTF-8"`},
		{"basic when only a token is set", Credentials{Token: "t"}, "/", func(r *http.Request) { r.SetBasicAuth("", "t") }, 401, `Bearer realm="calpresence"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.auth != nil {
				tt.auth(req)
			}
			rec := httptest.NewRecorder()
			tt.creds.Guard(ok).ServeHTTP(rec, req)
			if rec.Code != tt.code || rec.Header().Get("WWW-Authenticate") != tt.www {
				t.Errorf("GET %s = %d %q, want %d %q", tt.path, rec.Code, rec.Header().Get("WWW-Authenticate"), tt.code, tt.www)
			}
		})
	}
}

func TestLoadCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		token, basic string
		want         Credentials
		err          bool
	}{
		{"", "", Credentials{}, false},
		{write("tok", "abc123\n"), "", Credentials{Token: "abc123"}, false},
		{"", write("basic", "admin:p:w\nignored\n"), Credentials{User: "admin", Password: "p:w"}, false},
		{write("empty", "\n"), "", Credentials{}, true},
		{"", write("nocolon", "admin\n"), Credentials{}, true},
		{filepath.Join(dir, "missing"), "", Credentials{}, true},
	}
	for _, tt := range tests {
		got, err := LoadCredentials(tt.token, tt.basic)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("LoadCredentials(%q, %q) = %+v, %v; want %+v, error %v", tt.token, tt.basic, got, err, tt.want, tt.err)
		}
	}
}
