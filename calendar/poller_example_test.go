package calendar_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/calpresence/calpresence/calendar"
)

// A poller keeps one calendar fresh; Run would poll at start and then on
// the schedule, in the user's zone. Poll forces one poll now.
func ExampleNewPoller() {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		log.Fatal(err)
	}
	src, err := calendar.NewICSSource(calendar.ICSOptions{
		Name:  "team",
		URL:   "testdata/feeds/two.ics", // or https://, webcal://, file://
		Parse: calendar.ParseOptions{Zone: berlin, Me: []string{"mailto:alice@example.com"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := calendar.NewPoller(calendar.PollerOptions{
		Source:   src,
		Schedule: "*/5 * * * *",
		Zone:     berlin,
		OnUpdate: func(name string, events []*calendar.Event, warnings []calendar.Warning) {
			for _, e := range events {
				fmt.Println(name, e.UID)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Poll(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// team standup@example.com
	// team review@example.com
}

func ExampleParseSchedule() {
	sched, err := calendar.ParseSchedule("0 8 * * mon-fri")
	if err != nil {
		log.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// The fields are read in the zone of the time given: the user's.
	fmt.Println(sched.Next(time.Date(2026, 3, 6, 9, 0, 0, 0, berlin)))

	_, err = calendar.ParseSchedule("CRON_TZ=UTC 0 8 * * *")
	fmt.Println(err)
	// Output:
	// 2026-03-09 08:00:00 +0100 CET
	// poll schedule "CRON_TZ=UTC 0 8 * * *": time zone prefixes are not supported; schedules follow the configured timezone
}
