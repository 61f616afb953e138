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
//
// The I/O endpoints wait on another service the way a Go program usually does, with the
// standard library's defaults: upstream_async calls the upstream (services/upstream)
// through one shared http.Client on http.DefaultTransport (no cap on connections per
// host, 2 kept idle), db_async runs a query through one shared *sql.DB with the pgx
// driver (no cap on open connections, 2 kept idle). Those defaults are what is measured;
// BENCH_DB_MAX_OPEN and BENCH_HTTP_MAX_CONNS change them. Their bodies carry what only
// the real call can give: the upstream's signed nonce, the database's backend pid.
package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Upper bounds keep a typo from hanging or exhausting the server: 400, never 500.
// fib stops at 92, the largest result that fits in an int64.
// io_ms is the upstream's own limit (60 s), applied to the database's pg_sleep too.
var limits = map[string]int64{
	"ms": 3_600_000, "io_ms": 60_000, "n": 1_000_000_000, "items": 1_000_000, "fib": 92,
}

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

// backends are what the I/O endpoints wait on, read from the environment once at start.
// The runner sets BENCH_DATABASE_URL and BENCH_UPSTREAM_URL only in the scenarios that
// need them; without one, its endpoint answers 503 and every other endpoint still works.
type backends struct {
	db          *sql.DB // nil without BENCH_DATABASE_URL
	dbMaxOpen   int     // 0: unbounded, database/sql's default
	dbMaxIdle   int
	upstream    string // BENCH_UPSTREAM_URL without a trailing slash, or ""
	client      *http.Client
	transport   *http.Transport
	httpMaxConn int // 0: unbounded, http.Transport's default
}

// defaultMaxIdleConns is database/sql's own (unexported) default for SetMaxIdleConns.
const defaultMaxIdleConns = 2

// setting is a pool size a suite set (impl.yaml `settings`): 0 when unset or 0, Go's default.
func setting(name string) (int, error) {
	raw := os.Getenv(name)
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expected %s a non-negative integer, got %q", name, raw)
	}
	return n, nil
}

func loadBackends() (*backends, error) {
	b := &backends{dbMaxIdle: defaultMaxIdleConns}
	var err error
	if b.dbMaxOpen, err = setting("BENCH_DB_MAX_OPEN"); err != nil {
		return nil, err
	}
	if b.httpMaxConn, err = setting("BENCH_HTTP_MAX_CONNS"); err != nil {
		return nil, err
	}
	if dsn := os.Getenv("BENCH_DATABASE_URL"); dsn != "" {
		if b.db, err = sql.Open("pgx", dsn); err != nil { // connects on first use
			return nil, fmt.Errorf("BENCH_DATABASE_URL: %w", err)
		}
		if b.dbMaxOpen > 0 {
			b.dbMaxIdle = b.dbMaxOpen
			b.db.SetMaxOpenConns(b.dbMaxOpen)
			b.db.SetMaxIdleConns(b.dbMaxIdle)
		}
	}
	b.upstream = strings.TrimRight(os.Getenv("BENCH_UPSTREAM_URL"), "/")
	b.transport = http.DefaultTransport.(*http.Transport)
	if b.httpMaxConn > 0 {
		b.transport = b.transport.Clone()
		b.transport.MaxConnsPerHost = b.httpMaxConn
		b.transport.MaxIdleConnsPerHost = b.httpMaxConn
		// the default's total idle cap (100) would otherwise keep fewer idle than asked
		b.transport.MaxIdleConns = max(b.transport.MaxIdleConns, b.httpMaxConn)
	}
	b.client = &http.Client{Transport: b.transport}
	return b, nil
}

// pools is /info's view of the two connection pools: the limits in force.
func (b *backends) pools() map[string]any {
	var dbSize, httpSize any // JSON null: unbounded
	if b.dbMaxOpen > 0 {
		dbSize = b.dbMaxOpen
	}
	if b.transport.MaxConnsPerHost > 0 {
		httpSize = b.transport.MaxConnsPerHost
	}
	httpIdle := b.transport.MaxIdleConnsPerHost
	if httpIdle == 0 {
		httpIdle = http.DefaultMaxIdleConnsPerHost
	}
	return map[string]any{
		"database-sql":   map[string]any{"size": dbSize, "kind": "connections", "idle": b.dbMaxIdle},
		"http-transport": map[string]any{"size": httpSize, "kind": "connections", "idle": httpIdle},
	}
}

func errorJSON(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg, "status": status})
}

// upstreamAsync calls the upstream's /delay with a fresh nonce and returns its answer
// untouched; the runner checks the nonce's signature.
func (b *backends) upstreamAsync(w http.ResponseWriter, r *http.Request) {
	if b.upstream == "" {
		errorJSON(w, http.StatusServiceUnavailable, "BENCH_UPSTREAM_URL is not set")
		return
	}
	ms, ok := intArg(w, r, "ms", "io_ms")
	if !ok {
		return
	}
	raw := make([]byte, 16)
	rand.Read(raw) // never fails (crypto/rand, Go 1.24+)
	nonce := fmt.Sprintf("%x", raw)
	target := b.upstream + "/delay?" + url.Values{"ms": {strconv.FormatInt(ms, 10)}, "nonce": {nonce}}.Encode()
	// Not bound to the request's context, like time.Sleep: a client that leaves (wrk at
	// the end of a run) does not cut the call, which would close the pooled connection.
	resp, err := b.client.Get(target)
	if err != nil {
		errorJSON(w, http.StatusBadGateway, fmt.Sprintf("upstream: %v", err))
		return
	}
	// read to the end, so the connection can go back to the transport's idle pool
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		errorJSON(w, http.StatusBadGateway, fmt.Sprintf("upstream: reading the answer: %v", err))
		return
	}
	if resp.StatusCode != http.StatusOK {
		errorJSON(w, http.StatusBadGateway, fmt.Sprintf("upstream answered %d: %.200s", resp.StatusCode, data))
		return
	}
	var object map[string]json.RawMessage // an object, its values passed on as received
	if err := json.Unmarshal(data, &object); err != nil || object == nil {
		errorJSON(w, http.StatusBadGateway, fmt.Sprintf("upstream answered no JSON object: %.200s", data))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"kind": "upstream_async", "ms": ms, "nonce": nonce, "upstream": json.RawMessage(data),
	})
}

// dbQuery sleeps in the database, then reads one row: the connection is held for the
// whole wait, and the backend's pid and clock prove the query ran.
const dbQuery = `SELECT pg_backend_pid(), extract(epoch FROM clock_timestamp())::float8, i.value ` +
	`FROM pg_sleep($1::float8) AS s, bench_items AS i WHERE i.id = $2`

func (b *backends) dbAsync(w http.ResponseWriter, r *http.Request) {
	if b.db == nil {
		errorJSON(w, http.StatusServiceUnavailable, "BENCH_DATABASE_URL is not set")
		return
	}
	ms, ok := intArg(w, r, "ms", "io_ms")
	if !ok {
		return
	}
	id := mrand.IntN(1000) + 1
	var pid int64
	var at float64
	var value string
	// no context either: a cancelled query would cost the pooled connection and a cancel request
	err := b.db.QueryRow(dbQuery, float64(ms)/1000.0, id).Scan(&pid, &at, &value)
	if err != nil {
		errorJSON(w, http.StatusBadGateway, fmt.Sprintf("database: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"kind": "db_async", "ms": ms, "id": id, "value": value, "backend_pid": pid, "db_at": at,
	})
}

func (b *backends) info(w http.ResponseWriter, r *http.Request) {
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
		"pools":                  b.pools(),
		"lock_switch_interval_s": nil,
		"server_label":           os.Getenv("BENCH_SERVER"),
	})
}

func newMux(b *backends) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", hello)
	mux.HandleFunc("GET /async_sleep", sleep("async_sleep"))
	mux.HandleFunc("GET /sync_sleep", sleep("sync_sleep"))
	mux.HandleFunc("GET /cpu_sync", cpuSync)
	mux.HandleFunc("GET /cpu_process", cpuProcess)
	mux.HandleFunc("GET /fib", fibHandler)
	mux.HandleFunc("GET /json_large", jsonLarge)
	mux.HandleFunc("GET /upstream_async", b.upstreamAsync)
	mux.HandleFunc("GET /db_async", b.dbAsync)
	mux.HandleFunc("GET /info", b.info)
	return mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	b, err := loadBackends()
	if err != nil {
		log.Fatalf("error: %v", err)
	}
	log.Printf("listening on %s (GOMAXPROCS %d)", *addr, runtime.GOMAXPROCS(0))
	log.Fatal(http.ListenAndServe(*addr, newMux(b)))
}
