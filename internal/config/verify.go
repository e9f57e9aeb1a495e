package config

// verify reads [sip] verify, a user's value over the top-level one
// (default false). The watcher subscribes to the proxy, so it needs one.
func (v *validator) verify(path, proxy string, user, def *bool) bool {
	on := false
	switch {
	case user != nil:
		on = *user
	case def != nil:
		on = *def
	}
	if on && proxy == "" {
		v.errorf(path+".verify", "verify = true needs a proxy: the watcher subscribes there")
	}
	return on
}
