// Command testsvc-promhttp: a net/http service instrumented with client_golang's promhttp middleware, as the
// promhttp package documents it: InstrumentHandlerCounter + InstrumentHandlerDuration around the handler, with the
// route curried in as the "handler" label (prometheus/client_golang prometheus/promhttp/instrument_server.go:
// only "code" and "method" may be left uncurried). Metric names follow the Prometheus naming guide's examples.
// Behaviour (fail ratio, delay, self traffic): see ../README.md.
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var (
	failBits  atomic.Uint64
	delayBits atomic.Uint64
	calls     atomic.Uint64
)

// shouldFail spreads failures exactly: call n fails when floor((n+1)*r) > floor(n*r).
func shouldFail() bool {
	r := math.Float64frombits(failBits.Load())
	n := float64(calls.Add(1) - 1)
	return math.Floor((n+1)*r) > math.Floor(n*r)
}

func behave() bool {
	time.Sleep(time.Duration(math.Float64frombits(delayBits.Load()) * float64(time.Second)))
	return shouldFail()
}

func admin(w http.ResponseWriter, r *http.Request) {
	fail, err1 := strconv.ParseFloat(r.URL.Query().Get("fail"), 64)
	delay, err2 := strconv.ParseFloat(r.URL.Query().Get("delay"), 64)
	if err1 != nil || err2 != nil || fail < 0 || fail > 1 || delay < 0 {
		http.Error(w, "fail must be 0..1 and delay >= 0 seconds", http.StatusBadRequest)
		return
	}
	failBits.Store(math.Float64bits(fail))
	delayBits.Store(math.Float64bits(delay))
	fmt.Fprintf(w, "fail=%g delay=%g\n", fail, delay)
}

func selfTraffic(addr string, rps int) {
	client := &http.Client{Timeout: 30 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rps))
	for i := 0; ; i++ {
		<-tick.C
		go func(i int) {
			resp, err := client.Get(fmt.Sprintf("http://%s/api/items/%d", addr, i%50))
			if err == nil {
				resp.Body.Close()
			}
		}(i)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "instrumented API listen address")
	adminAddr := flag.String("admin-addr", "127.0.0.1:8081", "/metrics and /admin listen address")
	rps := flag.Int("rps", 0, "calls per second this service makes to its own API (0: none)")
	flag.Parse()

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests handled, by status code and method.",
	}, []string{"handler", "code", "method"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "HTTP request latency.",
		Buckets: prometheus.DefBuckets,
	}, []string{"handler", "code", "method"})
	registry.MustRegister(requests, duration)

	items := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if behave() {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "{\"id\": %q}\n", r.PathValue("id"))
	})
	route := "/api/items/{id}"
	labels := prometheus.Labels{"handler": route}
	api := http.NewServeMux()
	api.Handle("GET "+route, promhttp.InstrumentHandlerDuration(duration.MustCurryWith(labels),
		promhttp.InstrumentHandlerCounter(requests.MustCurryWith(labels), items)))

	adminMux := http.NewServeMux()
	adminMux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
	adminMux.HandleFunc("POST /admin/behaviour", admin)
	go func() { log.Fatal(http.ListenAndServe(*adminAddr, adminMux)) }()
	if *rps > 0 {
		go selfTraffic(*addr, *rps)
	}
	log.Fatal(http.ListenAndServe(*addr, api))
}
