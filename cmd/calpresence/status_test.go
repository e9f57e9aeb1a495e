package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/control"
)

func TestWriteStatus(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, berlin) }
	us := []control.UserStatus{
		{User: "sip:alice@example.com", Published: true, Basic: "closed", Activities: []string{"busy", "meeting"},
			Note: "In a meeting until 15:00", Source: "calendar", Rule: "meeting", Since: at(14, 0), Next: at(15, 0)},
		{User: "sip:bob@example.com", Published: true, Basic: "open", Source: "override", Rule: "available",
			Since: at(14, 10), Next: at(14, 40), Override: &control.Override{State: "available", Since: at(14, 10), Until: at(14, 40)}},
		{User: "sip:carol@example.com", Published: true, Basic: "closed", Activities: []string{"busy"}, Source: "override", Rule: "dnd",
			Since: at(9, 0), Override: &control.Override{State: "dnd", Since: at(9, 0)}},
		{User: "sip:dave@example.com", Published: true, Basic: "open", Source: "calendar", Since: at(0, 0), Next: at(9, 0)},
		{User: "sip:erin@example.com", Source: "calendar"},
	}
	var b bytes.Buffer
	if err := writeStatus(&b, us); err != nil {
		t.Fatal(err)
	}
	golden(t, "status.txt", b.Bytes())
}
