// Command go-service is a sample Go microservice of the kind observability is built for: Gin for HTTP,
// zap for JSON logs, client_golang for Prometheus metrics. It has fast, slow, failing and panicking
// endpoints so that every alert and dashboard of the stack has something real to show.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests handled, by method, route template and status code.",
	}, []string{"method", "route", "status"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "HTTP request latency, by method, route template and status code.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "status"})
	inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "http_requests_in_flight",
		Help: "HTTP requests being served right now.",
	})
	ordersTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_orders_total",
		Help: "Orders placed, by outcome.",
	}, []string{"outcome"})
)

// failRatio is the share (0..1) of /api/items requests that fail with a 500, settable at run time
// through POST /admin/fail-ratio so tests and the demo can drive error bursts.
var failRatio atomic.Uint64

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	logFile := flag.String("log-file", "", "also append JSON logs to this file (as a container runtime would)")
	service := flag.String("service", "checkout", "service name written into every log line")
	version := flag.String("version", "1.4.2", "service version written into every log line")
	flag.Parse()

	logger, err := newLogger(*logFile, *service, *version)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot open log file: %v\n", err)
		os.Exit(1)
	}
	defer func() { _ = logger.Sync() }()

	registry := prometheus.NewRegistry()
	registry.MustRegister(
		requestsTotal, requestDuration, inFlight, ordersTotal,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	router.Use(traceMiddleware(), metricsMiddleware(), accessLogMiddleware(logger), recoveryMiddleware(logger))
	routes(router, logger)
	router.GET("/metrics", gin.WrapH(promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry})))

	server := &http.Server{Addr: *addr, Handler: router, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		logger.Info("listening", zap.String("addr", *addr))
		if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Fatal("server stopped", zap.Error(err))
		}
	}()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = server.Shutdown(ctx)
	logger.Info("shut down")
}

func newLogger(logFile, service, version string) (*zap.Logger, error) {
	encoderConfig := zap.NewProductionEncoderConfig()
	encoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	encoder := zapcore.NewJSONEncoder(encoderConfig)
	sinks := []zapcore.WriteSyncer{zapcore.AddSync(os.Stdout)}
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, zapcore.AddSync(f))
	}
	core := zapcore.NewCore(encoder, zapcore.NewMultiWriteSyncer(sinks...), zap.DebugLevel)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zap.ErrorLevel)).
		With(zap.String("service", service), zap.String("version", version)), nil
}

func routes(r *gin.Engine, logger *zap.Logger) {
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })

	r.GET("/api/items", func(c *gin.Context) {
		if shouldFail() {
			log(c, logger).Error("listing items failed", zap.Error(errors.New("catalog backend: connection refused")))
			c.JSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"items": []string{"apple", "pear", "plum"}})
	})

	r.GET("/api/items/:id", func(c *gin.Context) {
		id, err := strconv.Atoi(c.Param("id"))
		if err != nil || id <= 0 {
			log(c, logger).Warn("bad item id", zap.String("id", c.Param("id")))
			c.JSON(http.StatusBadRequest, gin.H{"error": "id must be a positive integer"})
			return
		}
		if id > 1000 {
			c.JSON(http.StatusNotFound, gin.H{"error": "no such item"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": id, "name": fmt.Sprintf("item-%d", id)})
	})

	r.POST("/api/orders", func(c *gin.Context) {
		body, _ := io.ReadAll(io.LimitReader(c.Request.Body, 1<<16))
		if len(body) == 0 {
			ordersTotal.WithLabelValues("rejected").Inc()
			log(c, logger).Warn("order rejected", zap.String("reason", "empty body"))
			c.JSON(http.StatusBadRequest, gin.H{"error": "order body required"})
			return
		}
		ordersTotal.WithLabelValues("placed").Inc()
		log(c, logger).Info("order placed", zap.Int("bytes", len(body)))
		c.JSON(http.StatusCreated, gin.H{"status": "placed"})
	})

	r.GET("/api/slow", func(c *gin.Context) {
		// a long-tailed latency: most requests ~100ms, some seconds
		delay := time.Duration(100+mrand.ExpFloat64()*300) * time.Millisecond
		time.Sleep(delay)
		log(c, logger).Info("slow report generated", zap.Duration("took", delay))
		c.JSON(http.StatusOK, gin.H{"took_ms": delay.Milliseconds()})
	})

	r.GET("/api/fail", func(c *gin.Context) {
		log(c, logger).Error("payment provider rejected request",
			zap.Error(errors.New("upstream returned 503")), zap.String("provider", "acme-pay"))
		c.JSON(http.StatusInternalServerError, gin.H{"error": "payment failed"})
	})

	r.GET("/api/panic", func(c *gin.Context) {
		var m map[string]int
		m["boom"]++ // a nil map write: a real runtime panic with a goroutine trace
	})

	r.POST("/admin/fail-ratio", func(c *gin.Context) {
		ratio, err := strconv.ParseFloat(c.Query("ratio"), 64)
		if err != nil || ratio < 0 || ratio > 1 {
			c.JSON(http.StatusBadRequest, gin.H{"error": "ratio must be a number between 0 and 1"})
			return
		}
		failRatio.Store(math.Float64bits(ratio))
		logger.Info("fail ratio changed", zap.Float64("ratio", ratio))
		c.JSON(http.StatusOK, gin.H{"ratio": ratio})
	})
}

func shouldFail() bool {
	return mrand.Float64() < math.Float64frombits(failRatio.Load())
}

// traceMiddleware takes the trace id from a W3C traceparent header or starts a new trace.
func traceMiddleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		traceID, spanID := randomHex(16), randomHex(8)
		if tp := c.GetHeader("traceparent"); len(tp) == 55 {
			traceID = tp[3:35]
		}
		c.Set("trace_id", traceID)
		c.Set("span_id", spanID)
		c.Header("traceparent", "00-"+traceID+"-"+spanID+"-01")
		c.Next()
	}
}

func metricsMiddleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.URL.Path == "/metrics" {
			c.Next()
			return
		}
		start := time.Now()
		inFlight.Inc()
		defer inFlight.Dec()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched" // keeps label cardinality bounded for 404s on unknown paths
		}
		status := strconv.Itoa(c.Writer.Status())
		requestsTotal.WithLabelValues(c.Request.Method, route, status).Inc()
		requestDuration.WithLabelValues(c.Request.Method, route, status).Observe(time.Since(start).Seconds())
	}
}

func accessLogMiddleware(logger *zap.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.URL.Path == "/metrics" || c.Request.URL.Path == "/healthz" {
			c.Next()
			return
		}
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		fields := []zap.Field{
			zap.String("method", c.Request.Method),
			zap.String("path", c.Request.URL.Path),
			zap.String("route", c.FullPath()),
			zap.Int("status", status),
			zap.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
			zap.String("client_ip", c.ClientIP()),
			zap.String("user_agent", c.Request.UserAgent()),
		}
		if status >= 500 {
			log(c, logger).Error("request failed", fields...)
		} else {
			log(c, logger).Info("request", fields...)
		}
	}
}

// recoveryMiddleware turns a handler panic into a 500 and one error log line with the stack trace.
func recoveryMiddleware(logger *zap.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if rec := recover(); rec != nil {
				log(c, logger).Error("panic recovered",
					zap.String("panic", fmt.Sprint(rec)),
					zap.String("stacktrace", string(debug.Stack())),
				)
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
			}
		}()
		c.Next()
	}
}

func log(c *gin.Context, logger *zap.Logger) *zap.Logger {
	return logger.With(zap.String("trace_id", c.GetString("trace_id")), zap.String("span_id", c.GetString("span_id")))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
