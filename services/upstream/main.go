// Command upstream is the I/O scenarios' upstream: a tiny HTTP service that the
// implementations call from their upstream_async endpoints, so that a benchmark can
// measure how a server waits on another service. It answers after a fixed delay (the
// ?ms= of the request, time.Sleep in the request's own goroutine) and echoes the
// request's ?nonce= with an HMAC-SHA256 signature under a key only the runner and this
// service know (env BENCH_UPSTREAM_KEY), so an implementation cannot answer without
// really calling it: the runner checks the signature of every body it samples.
//
// It must never be the bottleneck: net/http runs each request in its own goroutine,
// nothing is logged per request, and no server timeout can cut a 60 s delay. /stats
// counts the delays served, so the runner can compare it with the requests it sent.
//
// Usage: BENCH_UPSTREAM_KEY=KEY upstream -addr 127.0.0.1:PORT
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// maxMS bounds ?ms=: a typo must not park a goroutine for hours.
const maxMS = 60_000

var nonceRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,128}$`)

type server struct {
	key    []byte
	served atomic.Int64 // /delay requests answered 200
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		log.Printf("writing response: %v", err)
	}
}

func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": msg, "status": http.StatusBadRequest})
}

// sign is the lowercase hex HMAC-SHA256 of "NONCE:MS" under the key.
func (s *server) sign(nonce string, ms int64) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(nonce + ":" + strconv.FormatInt(ms, 10)))
	return hex.EncodeToString(mac.Sum(nil))
}

func (s *server) delay(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rawMS := q.Get("ms")
	ms, err := strconv.ParseUint(rawMS, 10, 64) // digits only: no sign, no spaces
	switch {
	case err != nil:
		badRequest(w, fmt.Sprintf("expected ?ms= a non-negative integer, got %q", rawMS))
		return
	case ms > maxMS:
		badRequest(w, fmt.Sprintf("expected ?ms= at most %d, got %d", maxMS, ms))
		return
	}
	nonce := q.Get("nonce")
	if !nonceRe.MatchString(nonce) {
		badRequest(w, fmt.Sprintf("expected ?nonce= 1 to 128 characters of [0-9A-Za-z_-], got %q", nonce))
		return
	}
	time.Sleep(time.Duration(ms) * time.Millisecond)
	at := float64(time.Now().UnixNano()) / 1e9 // read after the sleep
	s.served.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{
		"nonce": nonce, "ms": ms, "at": at, "sig": s.sign(nonce, int64(ms)),
	})
}

func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"served": s.served.Load()})
}

func health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "go_version": runtime.Version(), "gomaxprocs": runtime.GOMAXPROCS(0),
	})
}

func (s *server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /delay", s.delay)
	mux.HandleFunc("GET /stats", s.stats)
	mux.HandleFunc("GET /health", health)
	return mux
}

func main() {
	addr := flag.String("addr", "", "address to listen on, 127.0.0.1:PORT (required)")
	flag.Parse()
	if *addr == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "error: expected -addr HOST:PORT and no other arguments")
		os.Exit(2)
	}
	key := os.Getenv("BENCH_UPSTREAM_KEY")
	if key == "" {
		fmt.Fprintln(os.Stderr, "error: BENCH_UPSTREAM_KEY is not set or empty: the HMAC key that signs every /delay answer")
		os.Exit(2)
	}
	s := &server{key: []byte(key)}
	srv := &http.Server{
		Addr:    *addr,
		Handler: s.mux(),
		// Only the headers have a deadline: a read, write or idle timeout could cut a
		// long delay or a keep-alive connection the benchmark is still using.
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Printf("upstream listening on %s (GOMAXPROCS %d)", *addr, runtime.GOMAXPROCS(0))
	log.Fatal(srv.ListenAndServe())
}
