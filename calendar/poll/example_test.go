package poll_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/ics"
	"github.com/calpresence/calpresence/calendar/poll"
)

// A Scheduler serves one calendar as well as many: Run would poll it at
// start and then on its schedule, in the user's zone. Fetch polls it now.
func ExampleScheduler_one() {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		log.Fatal(err)
	}
	src, err := ics.New(ics.Options{
		Name:  "team",
		URL:   "../ics/testdata/feeds/two.ics", // or https://, webcal://, file://
		Parse: calendar.ParseOptions{Zone: berlin, Me: []string{"mailto:alice@example.com"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	sched, err := poll.ParseSchedule("*/5 * * * *")
	if err != nil {
		log.Fatal(err)
	}
	s, err := poll.New(poll.Options{})
	if err != nil {
		log.Fatal(err)
	}
	p, err := s.Add(poll.Spec{
		Source:   src,
		Schedule: sched,
		Zone:     berlin,
		OnUpdate: func(name string, events []*calendar.Event, warnings []calendar.Warning, changed bool) {
			for _, e := range events {
				fmt.Println(name, e.UID)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Fetch(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// team standup@example.com
	// team review@example.com
}

func ExampleParseSchedule() {
	sched, err := poll.ParseSchedule("0 8 * * mon-fri")
	if err != nil {
		log.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// The fields are read in the zone of the time given: the user's.
	fmt.Println(sched.Next(time.Date(2026, 3, 6, 9, 0, 0, 0, berlin)))

	_, err = poll.ParseSchedule("CRON_TZ=UTC 0 8 * * *")
	fmt.Println(err)
	// Output:
	// 2026-03-09 08:00:00 +0100 CET
	// poll schedule "CRON_TZ=UTC 0 8 * * *": time zone prefixes are not supported; schedules follow the configured timezone
}

// One Scheduler polls the calendars of many users with a few workers;
// Run would poll each at once and then on its schedule in its user's
// zone. Fetch polls one now, in the calling goroutine.
func ExampleScheduler() {
	s, err := poll.New(poll.Options{Workers: 8, Timeout: 30 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	var polls []*poll.Entry
	for _, user := range []struct{ zone, schedule string }{{"Europe/Berlin", "*/5 * * * *"}, {"Asia/Kolkata", "@every 10m"}} {
		zone, err := time.LoadLocation(user.zone)
		if err != nil {
			log.Fatal(err)
		}
		src, err := ics.New(ics.Options{
			Name: "team", URL: "../ics/testdata/feeds/two.ics",
			Parse: calendar.ParseOptions{Zone: zone},
		})
		if err != nil {
			log.Fatal(err)
		}
		sched, err := poll.ParseSchedule(user.schedule)
		if err != nil {
			log.Fatal(err)
		}
		p, err := s.Add(poll.Spec{
			Source: src, Schedule: sched, Zone: zone,
			OnUpdate: func(name string, events []*calendar.Event, warnings []calendar.Warning, changed bool) {
				fmt.Println(user.zone, name, len(events), "events")
			},
			OnFailure: func(name string, err error) { fmt.Println(user.zone, name, err) },
		})
		if err != nil {
			log.Fatal(err)
		}
		polls = append(polls, p)
	}
	for _, p := range polls {
		if err := p.Fetch(context.Background()); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// Europe/Berlin team 2 events
	// Asia/Kolkata team 2 events
}
