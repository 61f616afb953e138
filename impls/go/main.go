// Command server is the Go side of the concurrency benchmark: the endpoint contract of
// docs/formats.md served by net/http alone, so it can be read side by side with the
// FastAPI and Flask versions.
//
// Go has one concurrency mechanism where Python has several: net/http runs every
// request in its own goroutine, and a goroutine that waits (time.Sleep, I/O) is parked
// by the runtime without holding a thread, while up to GOMAXPROCS goroutines compute at
// once. So async_sleep and sync_sleep are the same time.Sleep, and cpu_process is the
// declared equivalent of a process pool: the work in another goroutine, awaited through
// a channel. Every body proves its work was done (the measured sleep, the loop's sum,
// fib(n), the item count): one published comparison measured a Go "sleep" at 78,000
// requests per second because it returned before sleeping.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"
)

// Upper bounds keep a typo from hanging or exhausting the server: 400, never 500.
// fib stops at 92, the largest result that fits in an int64.
var limits = map[string]int64{"ms": 3_600_000, "n": 1_000_000_000, "items": 1_000_000, "fib": 92}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		log.Printf("writing response: %v", err)
	}
}

// intArg is the query parameter name as an integer in 0..limits[limit]; otherwise it
// answers 400 itself and returns ok = false.
func intArg(w http.ResponseWriter, r *http.Request, name, limit string) (int64, bool) {
	raw := r.URL.Query().Get(name)
	v, err := strconv.ParseUint(raw, 10, 64) // no sign, no spaces: digits only
	msg := ""
	switch {
	case err != nil:
		msg = fmt.Sprintf("expected ?%s= a non-negative integer, got %q", name, raw)
	case v > uint64(limits[limit]):
		msg = fmt.Sprintf("expected ?%s= at most %d, got %d", name, limits[limit], v)
	default:
		return int64(v), true
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": msg, "status": http.StatusBadRequest})
	return 0, false
}

func hello(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"message": "hello"})
}

// sleep serves async_sleep and sync_sleep: the goroutine parks, other requests run.
func sleep(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ms, ok := intArg(w, r, "ms", "ms")
		if !ok {
			return
		}
		start := time.Now() // carries the monotonic clock that time.Since reads
		time.Sleep(time.Duration(ms) * time.Millisecond)
		slept := float64(time.Since(start)) / float64(time.Millisecond)
		writeJSON(w, http.StatusOK, map[string]any{"kind": kind, "ms": ms, "slept_ms": slept})
	}
}

// cpuWork is sum(range(n)) by a loop that adds every term; the result is sent back, so
// the loop cannot be dropped.
func cpuWork(n int64) int64 {
	var total int64
	for i := int64(0); i < n; i++ {
		total += i
	}
	return total
}

func cpuSync(w http.ResponseWriter, r *http.Request) {
	n, ok := intArg(w, r, "n", "n")
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "cpu_sync", "n": n, "result": cpuWork(n)})
}

// cpuProcess runs the same work in another goroutine and waits for it on a channel:
// the nearest Go has to handing work to a process pool.
func cpuProcess(w http.ResponseWriter, r *http.Request) {
	n, ok := intArg(w, r, "n", "n")
	if !ok {
		return
	}
	done := make(chan int64, 1)
	go func() { done <- cpuWork(n) }()
	writeJSON(w, http.StatusOK, map[string]any{"kind": "cpu_process", "n": n, "result": <-done})
}

func fib(n int64) int64 {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

func fibHandler(w http.ResponseWriter, r *http.Request) {
	n, ok := intArg(w, r, "n", "fib")
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "fib", "n": n, "result": fib(n)})
}

// The models of the large-response article; every strN is a nil *string, encoded as null.
type Address struct {
	ID   int     `json:"id"`
	Str1 *string `json:"str1"`
	Str2 *string `json:"str2"`
	Str3 *string `json:"str3"`
	Str4 *string `json:"str4"`
	Str5 *string `json:"str5"`
	Str6 *string `json:"str6"`
	Str7 *string `json:"str7"`
	Str8 *string `json:"str8"`
}

type Account struct {
	ID      int      `json:"id"`
	Address *Address `json:"address"`
	Str1    *string  `json:"str1"`
	Str2    *string  `json:"str2"`
	Str3    *string  `json:"str3"`
	Str4    *string  `json:"str4"`
	Str5    *string  `json:"str5"`
	Str6    *string  `json:"str6"`
	Str7    *string  `json:"str7"`
	Str8    *string  `json:"str8"`
	Str9    *string  `json:"str9"`
	Str10   *string  `json:"str10"`
	Str11   *string  `json:"str11"`
	Str12   *string  `json:"str12"`
	Str13   *string  `json:"str13"`
	Str14   *string  `json:"str14"`
	Str15   *string  `json:"str15"`
	Str16   *string  `json:"str16"`
}

type Client struct {
	ID           int       `json:"id"`
	Address      Address   `json:"address"`
	BankAccounts []Account `json:"bank_accounts"`
	Str1         *string   `json:"str1"`
	Str2         *string   `json:"str2"`
	Str3         *string   `json:"str3"`
	Str4         *string   `json:"str4"`
	Str5         *string   `json:"str5"`
	Str6         *string   `json:"str6"`
	Str7         *string   `json:"str7"`
	Str8         *string   `json:"str8"`
}

func jsonLarge(w http.ResponseWriter, r *http.Request) {
	count, ok := intArg(w, r, "items", "items")
	if !ok {
		return
	}
	items := make([]Client, count)
	for i := range items {
		items[i] = Client{ID: i, Address: Address{ID: i}, BankAccounts: []Account{{ID: i}}}
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "json_large", "count": count, "items": items})
}

func info(w http.ResponseWriter, r *http.Request) {
	v := runtime.Version()
	writeJSON(w, http.StatusOK, map[string]any{
		"impl":              "go",
		"language":          "go",
		"language_version":  v,
		"framework":         "net/http",
		"framework_version": v, // net/http ships with the Go release
		"server_software":   map[string]string{"net/http": v},
		"pid":               os.Getpid(),
		"cpu_count":         runtime.NumCPU(),
		// threads running Go code at once: the cores CPU work can use (docs/formats.md)
		"parallelism":            runtime.GOMAXPROCS(0),
		"pools":                  map[string]any{},
		"lock_switch_interval_s": nil,
		"server_label":           os.Getenv("BENCH_SERVER"),
	})
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", hello)
	mux.HandleFunc("GET /async_sleep", sleep("async_sleep"))
	mux.HandleFunc("GET /sync_sleep", sleep("sync_sleep"))
	mux.HandleFunc("GET /cpu_sync", cpuSync)
	mux.HandleFunc("GET /cpu_process", cpuProcess)
	mux.HandleFunc("GET /fib", fibHandler)
	mux.HandleFunc("GET /json_large", jsonLarge)
	mux.HandleFunc("GET /info", info)
	return mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	log.Printf("listening on %s (GOMAXPROCS %d)", *addr, runtime.GOMAXPROCS(0))
	log.Fatal(http.ListenAndServe(*addr, newMux()))
}
