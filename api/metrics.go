package api

import (
	"database/sql"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	awarded  prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "insigne_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "insigne_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
		awarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "insigne_credentials_awarded_total", Help: "Credentials issued through the API (bulk jobs included when queued).",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.awarded)
	// A registry may already carry the runtime collectors.
	reg.Register(collectors.NewGoCollector())
	reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// registerPoolMetrics exports the database connection pool: how many
// connections are open and busy, and how often and how long requests
// waited for one (the sign that INSIGNE_DATABASE_MAX_CONNS is too small).
func registerPoolMetrics(reg *prometheus.Registry, stats func() sql.DBStats) {
	gauge := func(name, help string, f func(sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(stats()) })
	}
	counter := func(name, help string, f func(sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(stats()) })
	}
	reg.MustRegister(
		gauge("insigne_db_connections_max", "Connections the pool may open.", func(s sql.DBStats) float64 { return float64(s.MaxOpenConnections) }),
		gauge("insigne_db_connections_open", "Connections open.", func(s sql.DBStats) float64 { return float64(s.OpenConnections) }),
		gauge("insigne_db_connections_in_use", "Connections in use.", func(s sql.DBStats) float64 { return float64(s.InUse) }),
		counter("insigne_db_connection_waits_total", "Times a query waited for a free connection.", func(s sql.DBStats) float64 { return float64(s.WaitCount) }),
		counter("insigne_db_connection_wait_seconds_total", "Time spent waiting for a free connection.", func(s sql.DBStats) float64 { return s.WaitDuration.Seconds() }),
	)
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe counts and times requests by route template (not by path, so
// that ids do not explode the metrics), and logs the slow and the failed.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rt := mux.CurrentRoute(r); rt != nil {
			if tpl, err := rt.GetPathTemplate(); err == nil {
				route = tpl
			}
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(sw.status)).Inc()
		s.metrics.duration.WithLabelValues(r.Method, route).Observe(d.Seconds())
		if sw.status >= 500 || d > time.Second {
			s.log.WarnContext(r.Context(), "request", "method", r.Method, "route", route, "status", sw.status, "duration", d)
		} else {
			s.log.DebugContext(r.Context(), "request", "method", r.Method, "route", route, "status", sw.status, "duration", d)
		}
	})
}

// recoverPanics turns a panic into a logged 500 rather than a dropped
// connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, "internal", "something went wrong on our side; it has been logged", "")
			}
		}()
		next.ServeHTTP(w, r)
	})
}
