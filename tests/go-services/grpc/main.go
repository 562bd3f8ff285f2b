// Command testsvc-grpc: a gRPC server instrumented with go-grpc-middleware's Prometheus provider as its docs show:
// NewServerMetrics(WithServerHandlingTimeHistogram()) as a unary interceptor, registered and initialised
// (github.com/grpc-ecosystem/go-grpc-middleware providers/prometheus/server_metrics.go: grpc_server_handled_total
// {grpc_type,grpc_service,grpc_method,grpc_code}, grpc_server_handling_seconds with prometheus.DefBuckets). The
// API is grpc.health.v1.Health/Check, implemented here so no generated code is needed; failures answer
// codes.Internal. Behaviour (fail ratio, delay, self traffic through a real gRPC client): see ../README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
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

type health struct {
	healthpb.UnimplementedHealthServer
}

func (health) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if behave() {
		return nil, status.Error(codes.Internal, "internal error")
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func selfTraffic(addr string, rps int) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	client := healthpb.NewHealthClient(conn)
	tick := time.NewTicker(time.Second / time.Duration(rps))
	for {
		<-tick.C
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _ = client.Check(ctx, &healthpb.HealthCheckRequest{})
		}()
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "instrumented gRPC listen address")
	adminAddr := flag.String("admin-addr", "127.0.0.1:8081", "/metrics and /admin listen address")
	rps := flag.Int("rps", 0, "calls per second this service makes to its own API (0: none)")
	flag.Parse()

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srvMetrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	registry.MustRegister(srvMetrics)
	server := grpc.NewServer(grpc.ChainUnaryInterceptor(srvMetrics.UnaryServerInterceptor()))
	healthpb.RegisterHealthServer(server, health{})
	srvMetrics.InitializeMetrics(server)

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	adminMux := http.NewServeMux()
	adminMux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
	adminMux.HandleFunc("POST /admin/behaviour", admin)
	go func() { log.Fatal(http.ListenAndServe(*adminAddr, adminMux)) }()
	if *rps > 0 {
		go selfTraffic(*addr, *rps)
	}
	log.Fatal(server.Serve(listener))
}
