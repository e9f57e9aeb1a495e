package capool

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned returns a fresh self-signed CA certificate as PEM.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(good, selfSigned(t), 0o600)
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		file, want string
		notExist   bool
	}{
		{good, "", false},
		{bad, "ca_file " + bad + ": no PEM certificates in it", false},
		{missing, "ca_file " + missing + ": not a readable file", true},
	} {
		pool, err := Load(tc.file)
		switch {
		case tc.want == "" && (err != nil || pool == nil):
			t.Errorf("Load(%s) = %v, %v, want a pool", tc.file, pool, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("Load(%s) error = %v, want %q", tc.file, err, tc.want)
		}
		if got := errors.Is(err, fs.ErrNotExist); got != tc.notExist {
			t.Errorf("errors.Is(Load(%s), fs.ErrNotExist) = %v, want %v", tc.file, got, tc.notExist)
		}
		if (Check(tc.file) == nil) != (tc.want == "") {
			t.Errorf("Check(%s) = %v, want it to agree with Load", tc.file, Check(tc.file))
		}
	}
}
