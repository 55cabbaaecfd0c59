package harness

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		bad        bool
	}{
		{name: "plain", stat: "4242 (ponte) S 1 4242 4242 0 -1 4194560 2200 0 0 0 731 129 0 0 20 0 9 0 1234 1 2 3",
			want: 8600 * time.Millisecond},
		{name: "a command name with spaces and parentheses", stat: "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 1 1 1",
			want: 100 * time.Millisecond},
		{name: "no command name", stat: "7 a R 1", bad: true},
		{name: "cut short", stat: "7 (a) R 1 7 7", bad: true},
		{name: "not a number", stat: "7 (a) R 1 7 7 0 -1 0 0 0 0 0 x 5 0", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.stat))
			if tc.bad {
				if err == nil {
					t.Fatalf("parsed %v from %q, want an error", got, tc.stat)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseStatCPU = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tponte\nVmPeak:\t 1300000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n"
	if got, err := parseStatusKB([]byte(status), "VmHWM"); err != nil || got != 51234 {
		t.Errorf("VmHWM = %d, %v; want 51234", got, err)
	}
	if _, err := parseStatusKB([]byte(status), "VmSwap"); err == nil {
		t.Error("no VmSwap line: want an error")
	}
	if _, err := parseStatusKB([]byte("VmHWM:\t 12 MB\n"), "VmHWM"); err == nil {
		t.Error("a unit other than kB: want an error")
	}
}

func TestReadUsageOfThisProcess(t *testing.T) {
	u, err := ReadUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.PeakRSS <= 0 {
		t.Errorf("peak RSS %d: want it positive", u.PeakRSS)
	}
}
