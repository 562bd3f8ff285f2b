// Command testsvc-gin-prometheus: a Gin service instrumented with zsais/go-gin-prometheus as its README shows:
// ginprometheus.NewPrometheus("gin") and, as the README recommends against unbounded cardinality, the url label
// mapped to the route template (c.FullPath()). The middleware registers in client_golang's default registry
// (github.com/zsais/go-gin-prometheus middleware.go: gin_requests_total{code,method,handler,host,url} and the
// gin_request_duration_seconds Summary without labels), which the admin listener serves. Behaviour: ../README.md.
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

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	ginprometheus "github.com/zsais/go-gin-prometheus"
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

	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	p := ginprometheus.NewPrometheus("gin")
	p.ReqCntURLLabelMappingFn = func(c *gin.Context) string { return c.FullPath() }
	router.Use(p.HandlerFunc())
	router.GET("/api/items/:id", func(c *gin.Context) {
		if behave() {
			c.JSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": c.Param("id")})
	})

	adminMux := http.NewServeMux()
	adminMux.Handle("/metrics", promhttp.Handler())
	adminMux.HandleFunc("POST /admin/behaviour", admin)
	go func() { log.Fatal(http.ListenAndServe(*adminAddr, adminMux)) }()
	if *rps > 0 {
		go selfTraffic(*addr, *rps)
	}
	log.Fatal(router.Run(*addr))
}
