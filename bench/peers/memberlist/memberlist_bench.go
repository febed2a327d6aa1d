// akt-bench's membership-detect-real on hashicorp's memberlist: the same
// measurement as bench/membership_real.c, for runtime "memberlist".
//
// Ten members with memberlist.DefaultLANConfig() on akt's probe settings
// (probe every 500 ms, timeout 250 ms, 3 indirect probes: the issue asks
// for the same probe settings; the rest is memberlist's LAN defaults:
// suspicion multiplier 4, gossip 200 ms to 3 nodes, push-pull 30 s). With
// --lan the probe settings are memberlist's own (1 s, 500 ms). On 127.0.0.1:
// nine in this process, one (the victim) in a child process, this program
// re-executed as `memberlist_bench victim SEED`, so that it can be stopped
// with a real SIGKILL. Once each of the nine counts ten members, the victim
// is killed; the metric is the wall-clock ms from the kill until the last
// of the nine reported it dead (EventDelegate.NotifyLeave, which memberlist
// calls when it marks a member dead).
//
// Built offline against Debian's packages (golang-go 1.19,
// golang-github-hashicorp-memberlist-dev 0.2.2):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o memberlist_bench memberlist_bench.go
//
// Usage: memberlist_bench [--quick] [--lan] [--reps N] [membership-detect-real]
// prints "membership-detect-real<TAB>memberlist<TAB>ms<TAB>VALUE" (runtime
// "memberlist-lan" with --lan, which is not judged against akt), the
// median of N runs after a warm-up (--quick: one run); progress and each
// run's value on stderr.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

const (
	members       = 10 // the victim included
	victimName    = "victim"
	formTimeout   = 60 * time.Second
	detectTimeout = 120 * time.Second
	settle        = time.Second // formed, then this long before the kill
	poll          = 10 * time.Millisecond
)

// watcher records when its member reported the victim dead.
type watcher struct {
	mu     sync.Mutex
	deadAt time.Time
}

func (w *watcher) NotifyJoin(*memberlist.Node)   {}
func (w *watcher) NotifyUpdate(*memberlist.Node) {}
func (w *watcher) NotifyLeave(n *memberlist.Node) {
	if n.Name != victimName {
		return
	}
	w.mu.Lock()
	if w.deadAt.IsZero() {
		w.deadAt = time.Now()
	}
	w.mu.Unlock()
}

func (w *watcher) dead() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deadAt, !w.deadAt.IsZero()
}

// akt's probe settings (AKT_CLUSTER_DEFAULT_PROBE_INTERVAL and _TIMEOUT).
const (
	aktProbeInterval = 500 * time.Millisecond
	aktProbeTimeout  = 250 * time.Millisecond
	lanEnv           = "MEMBERLIST_BENCH_LAN" // set by --lan, inherited by the victim
)

// member starts a member on 127.0.0.1 (a free port) with the LAN defaults
// and akt's probe settings (memberlist's own with --lan).
func member(name string, events memberlist.EventDelegate) (*memberlist.Memberlist, error) {
	c := memberlist.DefaultLANConfig()
	if os.Getenv(lanEnv) == "" {
		c.ProbeInterval = aktProbeInterval
		c.ProbeTimeout = aktProbeTimeout
	}
	c.Name = name
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.AdvertiseAddr = "127.0.0.1"
	c.Events = events
	c.LogOutput = io.Discard
	return memberlist.Create(c)
}

// victim: joins through seed, says so, and serves until killed (or until
// its stdin ends: the parent is gone).
func victim(seed string) int {
	m, err := member(victimName, nil)
	if err == nil {
		_, err = m.Join([]string{seed})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "memberlist_bench victim: %v\n", err)
		return 1
	}
	fmt.Println("started")
	io.Copy(io.Discard, os.Stdin)
	m.Shutdown()
	return 0
}

func waitFor(what string, timeout time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ready() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v", what, timeout)
		}
		time.Sleep(poll)
	}
	return nil
}

// detect runs once: ms from the victim's SIGKILL until all nine others
// reported it dead.
func detect() (float64, error) {
	var ms []*memberlist.Memberlist
	defer func() {
		for _, m := range ms {
			m.Shutdown()
		}
	}()
	ws := make([]*watcher, members-1)
	for i := range ws {
		ws[i] = &watcher{}
		m, err := member(fmt.Sprintf("m%d", i), ws[i])
		if err != nil {
			return 0, err
		}
		ms = append(ms, m)
		if i > 0 {
			if _, err := m.Join([]string{ms[0].LocalNode().Address()}); err != nil {
				return 0, err
			}
		}
	}
	cmd := exec.Command(os.Args[0], "victim", ms[0].LocalNode().Address())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
		}
		cmd.Wait()
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "started\n" {
		return 0, fmt.Errorf("the victim did not start")
	}
	err = waitFor("the ten members seeing each other", formTimeout, func() bool {
		for _, m := range ms {
			if m.NumMembers() < members {
				return false
			}
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	time.Sleep(settle)
	start := time.Now()
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		return 0, err
	}
	killed = true
	err = waitFor("every member reporting the victim dead", detectTimeout, func() bool {
		for _, w := range ws {
			if _, ok := w.dead(); !ok {
				return false
			}
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	var last time.Time
	for _, w := range ws {
		if t, _ := w.dead(); t.After(last) {
			last = t
		}
	}
	return float64(last.Sub(start).Nanoseconds()) / 1e6, nil
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "victim" {
		os.Exit(victim(os.Args[2]))
	}
	reps := 5
	for i := 1; i < len(os.Args); i++ {
		switch a := os.Args[i]; {
		case a == "--quick":
			reps = 1
		case a == "--lan":
			os.Setenv(lanEnv, "1")
		case a == "--reps" && i+1 < len(os.Args):
			n, err := strconv.Atoi(os.Args[i+1])
			if err != nil || n < 1 {
				fmt.Fprintln(os.Stderr, "memberlist_bench: --reps needs a number of at least 1")
				os.Exit(2)
			}
			reps = n
			i++
		case a == "membership-detect-real": // the only workload: run either way
		default:
			fmt.Fprintln(os.Stderr, "usage: memberlist_bench [--quick] [--lan] [--reps N] [membership-detect-real]")
			os.Exit(2)
		}
	}
	var vs []float64
	for i := -1; i < reps; i++ {
		v, err := detect()
		if err != nil {
			fmt.Fprintf(os.Stderr, "memberlist_bench: membership-detect-real: %v\n", err)
			os.Exit(1)
		}
		what := "run"
		if i < 0 {
			what = "warm-up"
		} else {
			vs = append(vs, v)
		}
		fmt.Fprintf(os.Stderr, "memberlist_bench: membership-detect-real %s: %.1f ms\n", what, v)
	}
	sort.Float64s(vs)
	runtime := "memberlist"
	if os.Getenv(lanEnv) != "" {
		runtime = "memberlist-lan" // not the same probe settings: not judged against akt
	}
	fmt.Printf("membership-detect-real\t%s\tms\t%.1f\n", runtime, vs[len(vs)/2])
}
