package main

import (
	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/internal/config"
)

// reloadAgentConfig is loadAgentConfig for SIGHUP: prev is the config
// running, whose version of a users_dir file with mistakes stays; those
// mistakes are logged, one per line, and do not refuse the reload.
func reloadAgentConfig(path string, getenv func(string) string, deps agentDeps, prev *config.Config) (*config.Config, []agent.User, error) {
	cfg, err := config.Reload(path, getenv, prev)
	if err != nil {
		return nil, nil, err
	}
	specs, err := buildUsers(cfg, deps)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range cfg.Warnings {
		deps.sources.Logger.Warn("config", "warning", w.Error())
	}
	for _, f := range cfg.Files {
		if f.Err != nil {
			deps.sources.Logger.Error("users file refused; its users keep their previous version", "file", f.Path,
				"kept_users", len(f.Users), "err", f.Err.Error())
		}
	}
	return cfg, specs, nil
}
