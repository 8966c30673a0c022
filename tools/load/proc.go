package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// procSample is what /proc tells about the server process.
type procSample struct {
	rssKB, hwmKB int64
	cpu          time.Duration // user + system time
}

// clockTicks is USER_HZ, 100 on every Linux configuration Go supports
// (reading sysconf(_SC_CLK_TCK) would need cgo).
const clockTicks = 100

// readProc reads VmRSS, VmHWM and the CPU time of pid; zero values when
// pid is 0 or /proc cannot be read.
func readProc(pid int) procSample {
	var p procSample
	if pid <= 0 {
		return p
	}
	dir := "/proc/" + strconv.Itoa(pid)
	if b, err := os.ReadFile(dir + "/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			n, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "VmRSS:":
				p.rssKB = n
			case "VmHWM:":
				p.hwmKB = n
			}
		}
	}
	if b, err := os.ReadFile(dir + "/stat"); err == nil {
		// The command name, in parentheses, may hold spaces: fields
		// are counted after its closing parenthesis. utime and stime
		// are fields 14 and 15 of the whole line.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 12 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				p.cpu = time.Duration(ut+st) * time.Second / clockTicks
			}
		}
	}
	return p
}

// sampleRSS keeps the highest VmRSS seen in peak until stop is closed.
func sampleRSS(pid int, peak *atomic.Int64, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	if pid <= 0 {
		return
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if rss := readProc(pid).rssKB; rss > peak.Load() {
				peak.Store(rss)
			}
		}
	}
}

// machineCPU is the busy time of all CPUs together since boot, from the
// first line of /proc/stat (everything but idle and iowait); 0 when it
// cannot be read.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks
}
