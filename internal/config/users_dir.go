package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"

	"github.com/calpresence/calpresence/internal/tomlpos"
)

// users_dir = "users.d" (relative to the config) names a directory whose
// *.toml files each hold [[user]] tables, as a provisioning script writes
// them (one file per user, from LDAP, a CSV, the PBX's user list). Their
// users take the config's top-level values as defaults, like the config's
// own [[user]] tables; paths in a file are relative to that file. An AOR
// may appear once across the config and all files.
//
// On a reload (Reload), a file with mistakes does not stop the others:
// its users keep the version the running config has of that file (none if
// the file is new), and its mistakes are reported in UsersFile.Err.

// UsersFile is one file of users_dir.
type UsersFile struct {
	Path  string
	Users []*User
	// Err lists the file's mistakes, each FILE:LINE:COL: message; Users
	// are then the previous version's (Kept), or none.
	Err  error
	Kept bool
}

// usersFileConfig is a users_dir file as written: [[user]] tables only.
type usersFileConfig struct {
	Users []userConfig `toml:"user"`
}

// Reload loads the config at path to replace prev, the running one: as
// Load, except that a users_dir file with mistakes keeps prev's version of
// its users; such files are in the result's Files with Err set, and
// FileErrors joins their errors.
func Reload(path string, getenv func(string) string, prev *Config) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(path, data, getenv, prev)
}

// FileErrors joins the errors of the users_dir files that have mistakes;
// nil if none has.
func (c *Config) FileErrors() error {
	var errs []error
	for _, f := range c.Files {
		if f.Err != nil {
			errs = append(errs, f.Err)
		}
	}
	return errors.Join(errs...)
}

// loadUsersDir reads cfg.UsersDir into cfg.Files and cfg.Users. With prev
// nil (a first load) any file's mistakes are the error; on a reload they
// stay with the file.
func (cfg *Config) loadUsersDir(getenv func(string) string, prev *Config) error {
	if cfg.UsersDir == "" {
		return nil
	}
	files, err := filepath.Glob(filepath.Join(cfg.UsersDir, "*.toml"))
	if err != nil {
		return fmt.Errorf("config: users_dir %s: %w", cfg.UsersDir, err)
	}
	before := map[string]*UsersFile{}
	if prev != nil {
		for _, f := range prev.Files {
			before[f.Path] = f
		}
	}
	var errs []error
	for _, path := range files { // Glob sorts
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			continue
		}
		f := cfg.loadUsersFile(path, getenv)
		if f.Err != nil {
			if prev == nil {
				errs = append(errs, f.Err)
				continue
			}
			if old := before[path]; old != nil {
				// The previous version stays, unless a file read before
				// this one now has the same user.
				for _, u := range old.Users {
					if _, dup := cfg.defaults.seen[u.AOR]; !dup {
						cfg.defaults.seen[u.AOR] = filepath.Base(path)
						f.Users = append(f.Users, u)
					}
				}
				f.Kept = true
			}
		}
		cfg.Files = append(cfg.Files, f)
		cfg.Users = append(cfg.Users, f.Users...)
	}
	if len(errs) > 0 {
		return &Error{errs}
	}
	return nil
}

// loadUsersFile reads one users_dir file; its users' AORs join the seen
// ones only if the file has no mistakes.
func (cfg *Config) loadUsersFile(path string, getenv func(string) string) *UsersFile {
	f := &UsersFile{Path: path}
	data, err := os.ReadFile(path)
	if err != nil {
		f.Err = fmt.Errorf("%s: %w", path, err)
		return f
	}
	var fc usersFileConfig
	errs := tomlpos.Decode(path, data, &fc)
	if !tomlpos.OnlyUnknownKeys(errs) {
		f.Err = &Error{errs}
		return f
	}
	root, err := tomlpos.Parse(path, data)
	if err != nil {
		f.Err = &Error{append(errs, err)}
		return f
	}
	v := &validator{file: path, root: root, getenv: getenv, dir: filepath.Dir(path), errs: errs}
	d := *cfg.defaults
	d.seen = maps.Clone(cfg.defaults.seen)
	for i := range fc.Users {
		p := "user." + strconv.Itoa(i)
		f.Users = append(f.Users, v.user(p, &fc.Users[i], &d, filepath.Base(path)+" "+p))
	}
	if len(v.errs) > 0 {
		tomlpos.Sort(v.errs)
		f.Err, f.Users = &Error{v.errs}, nil
		return f
	}
	cfg.defaults.seen = d.seen
	cfg.Warnings = append(cfg.Warnings, v.warnings...)
	return f
}
