package agent

// noteUnread says, once per calendar, what a failed poll of a calendar
// that has not been read since the start means for the user's presence:
// the scheduler's "keeping the last good events" would suggest data that
// is not there. p.mu is held.
func (p *pipeline) noteUnread(c *calState) {
	if c.noted || c.events != nil {
		return
	}
	c.noted = true
	if c.goodAt.IsZero() {
		p.log.Warn("calendar never read: presence goes without its events until a poll succeeds",
			"calendar", c.spec.Name)
		return
	}
	p.log.Warn("calendar not read since the start: presence goes by its saved data until a poll succeeds",
		"calendar", c.spec.Name, "saved_fetched", c.goodAt)
}
