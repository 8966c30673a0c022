// Command load drives a running Insigne server at a fixed request rate and
// reports what the server answered and how fast.
//
// It is open-loop: request i is due at start + i/rate and is started then,
// whether or not earlier requests have been answered, and its latency is
// counted from that due time (not from when it was actually written to the
// socket). A server that stalls therefore shows the stall in every request
// that was due during it, instead of the generator politely waiting and
// hiding it (coordinated omission).
//
// Setup goes through the API with the admin token: a new issuer (random
// slug), an achievement, and for the get and mixed scenarios a first set
// of credentials. Then each scenario runs for -warmup (not recorded) and
// -duration (recorded):
//
//	award  POST /api/v1/awards, one new recipient per request (201)
//	get    GET {base}/credentials/{uuid}, Accept: application/vc+ld+json (200)
//	mixed  10 % awards, 60 % public GETs, 20 % POST /api/v1/verify of a
//	       fetched credential, 10 % GET /api/v1/credentials?achievement=…
//	backpack  GET /api/v1/backpack/credentials as learners with a session,
//	       round-robin; needs -database-url (the server's PostgreSQL), where
//	       it seeds -learners learners with -per-learner issued credentials
//	       each (unless already there) and opens -sessions sessions
//	full   the operations mix: 10 % awards, 40 % public GETs, 20 %
//	       verifications, 20 % xAPI statements (POST /xapi/statements, one
//	       course completion of a new learner, mapped to the achievement,
//	       so each one awards a credential), 10 % backpack reads (GET
//	       /api/v1/backpack/credentials as a signed-in learner)
//
// Run the server with INSIGNE_RATE_PUBLIC=0: the generator is one client
// address, which the public rate limit would otherwise hold back.
//
// Example:
//
//	go run ./tools/load -base http://127.0.0.1:8080 -token "$INSIGNE_ADMIN_TOKEN" \
//	    -scenario award -rate 200 -duration 30s -pid $(pgrep -n insigne)
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	base        string
	token       string
	scenarios   []string
	rate        float64
	duration    time.Duration
	warmup      time.Duration
	jsonOut     bool
	pid         int
	seed        int
	timeout     time.Duration
	maxInflight int
	samplesFile string
	// backpack scenario
	databaseURL string
	learners    int
	perLearner  int
	sessions    int
}

func main() {
	var c config
	var scen string
	flag.StringVar(&c.base, "base", envOr("INSIGNE_LOAD_BASE", "http://127.0.0.1:8080"), "base URL of the Insigne server (INSIGNE_LOAD_BASE)")
	flag.StringVar(&c.token, "token", os.Getenv("INSIGNE_ADMIN_TOKEN"), "admin bearer token (INSIGNE_ADMIN_TOKEN)")
	flag.StringVar(&scen, "scenario", "award", "award, get or mixed; several separated by commas run one after the other")
	flag.Float64Var(&c.rate, "rate", 100, "requests started per second (open loop)")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "recorded run time of each scenario")
	flag.DurationVar(&c.warmup, "warmup", 5*time.Second, "run time at the same rate before recording")
	flag.BoolVar(&c.jsonOut, "json", false, "print the results as JSON on standard output")
	flag.IntVar(&c.pid, "pid", 0, "server process id: read its VmRSS and CPU time from /proc/PID (Linux)")
	flag.IntVar(&c.seed, "seed", 200, "credentials awarded before the get and mixed scenarios")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Second, "per-request timeout (counted as an error)")
	flag.StringVar(&c.samplesFile, "samples", "", "write every recorded request to this CSV file (scenario, op, due_s, latency_ms, service_ms, status)")
	flag.StringVar(&c.databaseURL, "database-url", os.Getenv("INSIGNE_DATABASE_URL"), "backpack scenario: the server's PostgreSQL, to seed learners and open their sessions (INSIGNE_DATABASE_URL)")
	flag.IntVar(&c.learners, "learners", 100000, "backpack scenario: learners to seed")
	flag.IntVar(&c.perLearner, "per-learner", 10, "backpack scenario: issued credentials per learner")
	flag.IntVar(&c.sessions, "sessions", 2000, "backpack scenario: learner sessions to spread the requests over")
	flag.IntVar(&c.maxInflight, "max-inflight", 20000, "requests in flight at most; a due request beyond it is dropped and counted")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./tools/load [flags]\n\n"+
			"Drives a running Insigne server at a fixed rate (open loop) and reports\n"+
			"throughput, latency percentiles measured from each request's due time,\n"+
			"errors by status and, with -pid, the server's resident memory.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	c.base = strings.TrimRight(c.base, "/")
	for _, s := range strings.Split(scen, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "award", "get", "mixed", "backpack", "full":
			c.scenarios = append(c.scenarios, s)
		default:
			fatalf("unknown scenario %q: award, get, mixed, backpack or full", s)
		}
	}
	if c.rate <= 0 || c.duration <= 0 || c.warmup < 0 || c.seed < 1 {
		fatalf("-rate and -duration must be positive, -warmup not negative, -seed at least 1")
	}
	if c.token == "" {
		fatalf("no admin token: give -token or set INSIGNE_ADMIN_TOKEN")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	g := newGenerator(c)
	if err := g.setup(ctx); err != nil {
		fatalf("setup: %v", err)
	}
	var csv *os.File
	if c.samplesFile != "" {
		f, err := os.Create(c.samplesFile)
		if err != nil {
			fatalf("%v", err)
		}
		defer f.Close()
		fmt.Fprintln(f, "scenario,op,due_s,latency_ms,service_ms,status")
		csv = f
	}
	var results []*result
	for _, s := range c.scenarios {
		if ctx.Err() != nil {
			break
		}
		if s == "backpack" && len(g.cookies) == 0 {
			if err := g.seedBackpack(ctx); err != nil {
				fatalf("seeding backpacks: %v", err)
			}
		}
		if s == "full" && g.lmsAuth == "" {
			if err := g.setupFull(ctx); err != nil {
				fatalf("setting up the full scenario: %v", err)
			}
		}
		if (s == "get" || s == "mixed" || s == "full") && len(g.creds) == 0 {
			if err := g.seedCredentials(ctx); err != nil {
				fatalf("seeding credentials: %v", err)
			}
		}
		res, samples := g.run(ctx, s)
		results = append(results, res)
		if csv != nil {
			writeSamples(csv, s, samples)
		}
		if !c.jsonOut {
			res.print(os.Stdout)
		}
	}
	if c.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			fatalf("%v", err)
		}
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
}

// generator holds the client and what setup created.
type generator struct {
	c      config
	client *http.Client
	runID  string

	issuer      string
	achievement string   // uuid
	creds       []string // uuids of the seeded credentials
	bodies      [][]byte // their signed JSON, for verify
	recipient   atomic.Int64
	cookies     []string // learner sessions, for the backpack scenario

	// full scenario: the LMS client's Basic authorization, the mapped
	// course, and a signed-in learner's session cookie.
	lmsAuth string
	course  string
	session string
	learner atomic.Int64
}

func newGenerator(c config) *generator {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0, // no global cap
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // measure the server, not gzip
		ForceAttemptHTTP2:   false,
	}
	b := make([]byte, 4)
	rand.Read(b)
	return &generator{c: c, client: &http.Client{Transport: tr, Timeout: c.timeout}, runID: hex.EncodeToString(b)}
}

// call sends one setup request and decodes a JSON answer into out.
func (g *generator) call(ctx context.Context, method, path string, in, out any, want int) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+g.c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s (want %d): %s", method, path, resp.Status, want, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: %v", method, path, err)
		}
	}
	return resp.Header, nil
}

func (g *generator) setup(ctx context.Context) error {
	g.issuer = "load-" + g.runID
	if _, err := g.call(ctx, http.MethodPost, "/api/v1/issuers", map[string]string{
		"slug": g.issuer, "name": "Load test " + g.runID, "url": "https://example.org/load/" + g.runID,
		"email": "load-" + g.runID + "@example.org",
	}, nil, http.StatusCreated); err != nil {
		return err
	}
	var ach struct {
		ID string `json:"id"`
	}
	h, err := g.call(ctx, http.MethodPost, "/api/v1/issuers/"+g.issuer+"/achievements", map[string]any{
		"name":            "Load test badge",
		"description":     "Awarded by the load generator.",
		"criteria":        map[string]string{"narrative": "Be a request of the load generator."},
		"achievementType": "Badge",
	}, &ach, http.StatusCreated)
	if err != nil {
		return err
	}
	ref := ach.ID
	if ref == "" {
		ref = h.Get("Location")
	}
	g.achievement = ref[strings.LastIndex(ref, "/")+1:]
	if g.achievement == "" {
		return errors.New("the achievement answer names no id")
	}
	logf("issuer %s, achievement %s", g.issuer, g.achievement)
	return nil
}

func (g *generator) nextRecipient() map[string]string {
	n := g.recipient.Add(1)
	return map[string]string{"email": fmt.Sprintf("r%d-%s@load.example.org", n, g.runID), "name": fmt.Sprintf("Recipient %d", n)}
}

type awardAnswer struct {
	Credentials []struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	} `json:"credentials"`
}

// seedCredentials awards -seed credentials (in synchronous batches of 50)
// and fetches their signed JSON once.
func (g *generator) seedCredentials(ctx context.Context) error {
	for len(g.creds) < g.c.seed {
		n := min(50, g.c.seed-len(g.creds))
		rec := make([]map[string]string, n)
		for i := range rec {
			rec[i] = g.nextRecipient()
		}
		var out awardAnswer
		if _, err := g.call(ctx, http.MethodPost, "/api/v1/awards", map[string]any{"achievement": g.achievement, "recipients": rec}, &out, http.StatusCreated); err != nil {
			return err
		}
		for _, c := range out.Credentials {
			g.creds = append(g.creds, strings.TrimPrefix(c.ID, "urn:uuid:"))
		}
	}
	for _, id := range g.creds {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.c.base+"/credentials/"+id, nil)
		req.Header.Set("Accept", "application/vc+ld+json")
		resp, err := g.client.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /credentials/%s: %s", id, resp.Status)
		}
		g.bodies = append(g.bodies, b)
	}
	// One verification now, so that a credential the server does not
	// consider valid is noticed before it is measured.
	var rep struct {
		Verdict string `json:"verdict"`
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.c.base+"/api/v1/verify", bytes.NewReader(g.bodies[0]))
	req.Header.Set("Content-Type", "application/vc+ld+json")
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	json.Unmarshal(b, &rep)
	logf("seeded %d credentials (%d bytes each); verify answers %s, verdict %q", len(g.creds), len(g.bodies[0]), resp.Status, rep.Verdict)
	return nil
}

// Operations.
const (
	opAward = iota
	opGet
	opVerify
	opList
	opIngest
	opBackpack
	numOps
)

var opNames = [numOps]string{"award", "get", "verify", "list", "xapi", "backpack"}

// fullPattern: 10 % awards, 40 % gets, 20 % verifications, 20 % xAPI
// statements, 10 % backpack reads.
var fullPattern = [10]int{opGet, opAward, opIngest, opVerify, opGet, opBackpack, opGet, opIngest, opVerify, opGet}

// mixedPattern spreads 10 % awards, 60 % gets, 20 % verifications and
// 10 % listings evenly over every ten requests.
var mixedPattern = [10]int{opGet, opAward, opGet, opVerify, opGet, opList, opGet, opVerify, opGet, opGet}

func (g *generator) pick(scenario string, i int) int {
	switch scenario {
	case "award":
		return opAward
	case "get":
		return opGet
	case "backpack":
		return opBackpack
	case "full":
		return fullPattern[i%len(fullPattern)]
	default:
		return mixedPattern[i%len(mixedPattern)]
	}
}

// request builds the i-th request of an operation. It runs after the due
// time, so its (small) cost counts in the due-time latency, not in the
// service time.
func (g *generator) request(ctx context.Context, op, i int) *http.Request {
	var req *http.Request
	switch op {
	case opAward:
		b, _ := json.Marshal(map[string]any{"achievement": g.achievement, "recipients": []map[string]string{g.nextRecipient()}})
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, g.c.base+"/api/v1/awards", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+g.c.token)
	case opGet:
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, g.c.base+"/credentials/"+g.creds[i%len(g.creds)], nil)
		req.Header.Set("Accept", "application/vc+ld+json")
	case opVerify:
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, g.c.base+"/api/v1/verify", bytes.NewReader(g.bodies[i%len(g.bodies)]))
		req.Header.Set("Content-Type", "application/vc+ld+json")
	case opList:
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, g.c.base+"/api/v1/credentials?achievement="+g.achievement+"&limit=20", nil)
		req.Header.Set("Authorization", "Bearer "+g.c.token)
	case opIngest:
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, g.c.base+"/xapi/statements", bytes.NewReader(g.statement()))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", g.lmsAuth)
		req.Header.Set("X-Experience-API-Version", "1.0.3")
	case opBackpack:
		// The backpack scenario reads many seeded learners' backpacks; the
		// full one, its own learner's.
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, g.c.base+"/api/v1/backpack/credentials?limit=50", nil)
		if len(g.cookies) > 0 {
			req.AddCookie(&http.Cookie{Name: "insigne_session", Value: g.cookies[i%len(g.cookies)]})
		} else {
			req.AddCookie(&http.Cookie{Name: "insigne_session", Value: g.session})
		}
	}
	return req
}

// sample is one recorded request.
type sample struct {
	op      uint8
	status  int           // 0: transport error
	errKind string        // for transport errors
	due     time.Duration // from the start of the recorded window
	latency time.Duration // from the due time to the end of the body
	service time.Duration // from when the request was actually started
}

// recorder collects the samples of the recorded window.
type recorder struct {
	mu       sync.Mutex
	samples  []sample
	lastDone time.Time
}

func (r *recorder) add(s sample, done time.Time) {
	r.mu.Lock()
	r.samples = append(r.samples, s)
	if done.After(r.lastDone) {
		r.lastDone = done
	}
	r.mu.Unlock()
}

// run runs one scenario: warm-up, then the recorded window, then waits
// for the requests still in flight.
func (g *generator) run(ctx context.Context, scenario string) (*result, []sample) {
	c := g.c
	logf("%s: %.0f requests/s, warm-up %s, recorded %s", scenario, c.rate, c.warmup, c.duration)
	rec := &recorder{samples: make([]sample, 0, int(c.rate*c.duration.Seconds())+16)}
	var inflight atomic.Int64
	var wg sync.WaitGroup
	var dropped [numOps]int
	var sent [numOps]int
	var maxLag time.Duration

	var before procSample
	var peak atomic.Int64
	stopSampling := make(chan struct{})
	samplingDone := make(chan struct{})

	start := time.Now()
	warmEnd := start.Add(c.warmup)
	end := warmEnd.Add(c.duration)
	genBefore, machBefore := selfCPU(), machineCPU()
	recording := false
	for i := 0; ; i++ {
		due := start.Add(time.Duration(float64(i) * float64(time.Second) / c.rate))
		if !due.Before(end) || ctx.Err() != nil {
			break
		}
		// Go's timers wait at least about a millisecond when the process
		// is idle (epoll_wait takes milliseconds), so above 1,000
		// requests/s they leave in small bursts: the rate holds on
		// average, and the due-time latency carries up to ~1 ms of this
		// slack (the service latency does not). Spinning instead would
		// take a core from the server on a small machine.
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		measured := !due.Before(warmEnd)
		if measured && !recording {
			recording = true
			before = readProc(c.pid)
			peak.Store(before.rssKB)
			genBefore, machBefore = selfCPU(), machineCPU()
			go sampleRSS(c.pid, &peak, stopSampling, samplingDone)
		}
		if lag := time.Since(due); measured && lag > maxLag {
			maxLag = lag
		}
		op := g.pick(scenario, i)
		if inflight.Load() >= int64(c.maxInflight) {
			if measured {
				dropped[op]++
			}
			continue
		}
		if measured {
			sent[op]++
		}
		inflight.Add(1)
		wg.Add(1)
		go func(i, op int, due time.Time, measured bool) {
			defer wg.Done()
			defer inflight.Add(-1)
			s := sample{op: uint8(op), due: due.Sub(warmEnd)}
			req := g.request(ctx, op, i)
			began := time.Now()
			resp, err := g.client.Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				s.status = resp.StatusCode
			}
			if err != nil {
				s.status = 0
				s.errKind = errKind(err)
			}
			done := time.Now()
			s.latency = done.Sub(due)
			s.service = done.Sub(began)
			if measured {
				rec.add(s, done)
			}
		}(i, op, due, measured)
	}
	wg.Wait()
	after := readProc(c.pid)
	genAfter, machAfter := selfCPU(), machineCPU()
	if recording {
		close(stopSampling)
		<-samplingDone
	}

	elapsed := c.duration
	if rec.lastDone.Sub(warmEnd) > elapsed {
		elapsed = rec.lastDone.Sub(warmEnd)
	}
	res := summarize(scenario, c, rec.samples, sent, dropped, elapsed)
	res.MaxSchedulingLagMs = ms(maxLag)
	res.GeneratorCPUCores = (genAfter - genBefore).Seconds() / elapsed.Seconds()
	if machBefore > 0 {
		res.MachineCPUCores = (machAfter - machBefore).Seconds() / elapsed.Seconds()
	}
	if c.pid > 0 {
		res.Server = &serverStats{PID: c.pid, RSSBeforeMiB: kib(before.rssKB), RSSAfterMiB: kib(after.rssKB),
			RSSPeakMiB: kib(max(peak.Load(), after.rssKB)), HWMMiB: kib(after.hwmKB)}
		if before.cpu > 0 && after.cpu > 0 {
			res.Server.CPUCores = (after.cpu - before.cpu).Seconds() / elapsed.Seconds()
		}
	}
	return res, rec.samples
}

func writeSamples(w io.Writer, scenario string, samples []sample) {
	bw := bufio.NewWriter(w)
	for _, s := range samples {
		status := strconv.Itoa(s.status)
		if s.status == 0 {
			status = strconv.Quote(s.errKind)
		}
		fmt.Fprintf(bw, "%s,%s,%.6f,%.3f,%.3f,%s\n", scenario, opNames[s.op], s.due.Seconds(), ms(s.latency), ms(s.service), status)
	}
	bw.Flush()
}

func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "connection reset"):
		return "connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}
