package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// latency is the distribution of one set of samples, in milliseconds,
// taken from the full sorted sample (no histogram, no approximation).
type latency struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

type opStats struct {
	Sent      int            `json:"sent"`
	Dropped   int            `json:"dropped,omitempty"`
	Completed int            `json:"completed"` // an HTTP answer, any status
	OK        int            `json:"ok"`        // 2xx
	Errors    int            `json:"errors"`    // non-2xx and transport errors
	ByStatus  map[string]int `json:"by_status"`
	// Throughput is completed answers per second over the recorded window
	// (extended to the last answer when the server lagged behind).
	Throughput float64 `json:"throughput_per_s"`
	// Latency counts from each request's due time: the figure to judge
	// the server by (it includes any delay in starting the request).
	Latency latency `json:"latency"`
	// Service counts from when the request was actually started; it
	// leaves out the generator's own scheduling delays, and the queueing
	// that coordinated omission hides.
	Service latency `json:"service"`
}

type serverStats struct {
	PID          int     `json:"pid"`
	RSSBeforeMiB float64 `json:"rss_before_mib"`
	RSSAfterMiB  float64 `json:"rss_after_mib"`
	RSSPeakMiB   float64 `json:"rss_peak_mib"` // sampled every 200 ms while recording
	HWMMiB       float64 `json:"vmhwm_mib"`    // the kernel's peak since the process started
	CPUCores     float64 `json:"cpu_cores"`    // server CPU time / recorded time
}

type result struct {
	Scenario           string  `json:"scenario"`
	RateAsked          float64 `json:"rate_asked_per_s"`
	DurationS          float64 `json:"duration_s"`
	WarmupS            float64 `json:"warmup_s"`
	ElapsedS           float64 `json:"elapsed_s"`
	MaxSchedulingLagMs float64 `json:"max_scheduling_lag_ms"` // how late the generator started a request, at worst
	GeneratorCPUCores  float64 `json:"generator_cpu_cores"`
	// MachineCPUCores is every process's CPU together (Linux /proc/stat):
	// what is neither the server nor the generator is the database or
	// someone else.
	MachineCPUCores float64 `json:"machine_cpu_cores,omitempty"`
	opStats
	ByOperation map[string]*opStats `json:"by_operation,omitempty"` // scenarios of several operations
	Server      *serverStats        `json:"server,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func kib(kb int64) float64 { return float64(kb) / 1024 }

// percentile of a sorted slice, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

func distribution(d []time.Duration) latency {
	slices.Sort(d)
	return latency{P50: ms(percentile(d, 50)), P90: ms(percentile(d, 90)), P99: ms(percentile(d, 99)), Max: ms(percentile(d, 100))}
}

func statsOf(samples []sample, keep func(sample) bool, sent, dropped int, elapsed time.Duration) *opStats {
	st := &opStats{Sent: sent, Dropped: dropped, ByStatus: map[string]int{}}
	var lat, svc []time.Duration
	for _, s := range samples {
		if !keep(s) {
			continue
		}
		lat = append(lat, s.latency)
		svc = append(svc, s.service)
		switch {
		case s.status == 0:
			st.Errors++
			st.ByStatus["transport: "+s.errKind]++
		case s.status >= 200 && s.status < 300:
			st.Completed++
			st.OK++
			st.ByStatus[strconv.Itoa(s.status)]++
		default:
			st.Completed++
			st.Errors++
			st.ByStatus[strconv.Itoa(s.status)]++
		}
	}
	if dropped > 0 {
		st.ByStatus["dropped (in-flight cap)"] = dropped
	}
	st.Latency = distribution(lat)
	st.Service = distribution(svc)
	st.Throughput = float64(st.Completed) / elapsed.Seconds()
	return st
}

func summarize(scenario string, c config, samples []sample, sent, dropped [numOps]int, elapsed time.Duration) *result {
	res := &result{Scenario: scenario, RateAsked: c.rate, DurationS: c.duration.Seconds(), WarmupS: c.warmup.Seconds(),
		ElapsedS: elapsed.Seconds()}
	var allSent, allDropped int
	for op := range numOps {
		allSent += sent[op]
		allDropped += dropped[op]
	}
	res.opStats = *statsOf(samples, func(sample) bool { return true }, allSent, allDropped, elapsed)
	// A scenario of several operations (mixed, full) is reported per
	// operation too: each has its own target.
	kinds := 0
	for op := range numOps {
		if sent[op]+dropped[op] > 0 {
			kinds++
		}
	}
	if kinds > 1 {
		res.ByOperation = map[string]*opStats{}
		for op := range numOps {
			if sent[op]+dropped[op] > 0 {
				res.ByOperation[opNames[op]] = statsOf(samples, func(s sample) bool { return int(s.op) == op }, sent[op], dropped[op], elapsed)
			}
		}
	}
	return res
}

func (st *opStats) statusLine() string {
	keys := make([]string, 0, len(st.ByStatus))
	for k := range st.ByStatus {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, st.ByStatus[k])
	}
	return strings.Join(parts, ", ")
}

func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "\n== %s: %.0f requests/s asked, %.0fs recorded after %.0fs warm-up\n", r.Scenario, r.RateAsked, r.DurationS, r.WarmupS)
	fmt.Fprintf(w, "requests   sent %d, completed %d (2xx %d), errors %d, dropped %d\n", r.Sent, r.Completed, r.OK, r.Errors, r.Dropped)
	fmt.Fprintf(w, "status     %s\n", r.statusLine())
	fmt.Fprintf(w, "throughput %.1f/s achieved over %.1fs\n", r.Throughput, r.ElapsedS)
	fmt.Fprintf(w, "latency    p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  (from each request's due time)\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	fmt.Fprintf(w, "service    p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  (from when each was actually started)\n",
		r.Service.P50, r.Service.P90, r.Service.P99, r.Service.Max)
	if r.ByOperation != nil {
		for op := range numOps {
			o := r.ByOperation[opNames[op]]
			if o == nil {
				continue
			}
			fmt.Fprintf(w, "  %-8s sent %5d  2xx %5d  errors %4d  %7.1f/s  p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f ms  %s\n",
				opNames[op], o.Sent, o.OK, o.Errors, o.Throughput, o.Latency.P50, o.Latency.P90, o.Latency.P99, o.Latency.Max, o.statusLine())
		}
	}
	fmt.Fprintf(w, "generator  CPU %.2f cores, worst scheduling lag %.2f ms; whole machine busy %.2f cores\n",
		r.GeneratorCPUCores, r.MaxSchedulingLagMs, r.MachineCPUCores)
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "server     pid %d: RSS %.1f MiB before, %.1f MiB after, %.1f MiB peak (VmHWM %.1f MiB); CPU %.2f cores\n",
			s.PID, s.RSSBeforeMiB, s.RSSAfterMiB, s.RSSPeakMiB, s.HWMMiB, s.CPUCores)
	}
}
