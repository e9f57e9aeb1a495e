package config

import "testing"

func TestConfigVerify(t *testing.T) {
	cfg, err := Load("testdata/valid/verify.toml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Users) != 2 || !cfg.Users[0].SIP.Verify || cfg.Users[1].SIP.Verify {
		t.Errorf("verify = %v, %v; want the top-level true for alice, bob's own false", cfg.Users[0].SIP.Verify, cfg.Users[1].SIP.Verify)
	}
	cfg, err = Load("testdata/valid/single.toml", noEnv)
	if err != nil || cfg.Users[0].SIP.Verify {
		t.Errorf("verify by default = %v (%v), want false", cfg.Users[0].SIP.Verify, err)
	}
}
