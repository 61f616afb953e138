package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// get sends one request through a mux built from the environment and decodes the JSON
// answer.
func get(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	b, err := loadBackends()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	newMux(b).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: body is not a JSON object: %v: %s", path, err, rec.Body)
	}
	return rec.Code, body
}

func TestBodies(t *testing.T) {
	cases := []struct {
		path string
		want map[string]any // JSON numbers decode as float64
	}{
		{"/hello", map[string]any{"message": "hello"}},
		{"/cpu_sync?n=5000000", map[string]any{"kind": "cpu_sync", "n": 5e6, "result": 12499997500000.0}},
		{"/cpu_process?n=5000000", map[string]any{"kind": "cpu_process", "n": 5e6, "result": 12499997500000.0}},
		{"/cpu_sync?n=0", map[string]any{"kind": "cpu_sync", "n": 0.0, "result": 0.0}},
		{"/fib?n=20", map[string]any{"kind": "fib", "n": 20.0, "result": 6765.0}},
		{"/fib?n=1", map[string]any{"kind": "fib", "n": 1.0, "result": 1.0}},
		{"/fib?n=0", map[string]any{"kind": "fib", "n": 0.0, "result": 0.0}},
	}
	for _, c := range cases {
		code, body := get(t, c.path)
		if code != http.StatusOK || !reflect.DeepEqual(body, c.want) {
			t.Errorf("%s: %d %v, want 200 %v", c.path, code, body, c.want)
		}
	}
}

func TestSleepReallySleeps(t *testing.T) {
	for _, kind := range []string{"async_sleep", "sync_sleep"} {
		start := time.Now()
		code, body := get(t, "/"+kind+"?ms=50")
		elapsed := time.Since(start)
		if code != http.StatusOK || body["kind"] != kind || body["ms"] != 50.0 {
			t.Errorf("%s: %d %v", kind, code, body)
		}
		if slept, _ := body["slept_ms"].(float64); slept < 50 {
			t.Errorf("%s: slept_ms %v, want >= 50", kind, body["slept_ms"])
		}
		if elapsed < 50*time.Millisecond {
			t.Errorf("%s: answered in %v, want >= 50ms", kind, elapsed)
		}
	}
}

func TestJSONLarge(t *testing.T) {
	code, body := get(t, "/json_large?items=3")
	items, _ := body["items"].([]any)
	if code != http.StatusOK || body["kind"] != "json_large" || body["count"] != 3.0 || len(items) != 3 {
		t.Fatalf("%d %v", code, body)
	}
	for i, it := range items {
		client := it.(map[string]any)
		address := client["address"].(map[string]any)
		accounts := client["bank_accounts"].([]any)
		account := accounts[0].(map[string]any)
		if len(client) != 11 || len(address) != 9 || len(accounts) != 1 || len(account) != 18 {
			t.Errorf("items[%d]: wrong shape: %v", i, client)
		}
		if client["id"] != float64(i) || address["id"] != float64(i) || account["id"] != float64(i) {
			t.Errorf("items[%d]: ids %v %v %v", i, client["id"], address["id"], account["id"])
		}
		if v, ok := account["address"]; !ok || v != nil {
			t.Errorf("items[%d]: account address %v, want null", i, v)
		}
		for _, m := range []map[string]any{client, address, account} {
			for k, v := range m {
				if k != "id" && k != "address" && k != "bank_accounts" && v != nil {
					t.Errorf("items[%d]: %s = %v, want null", i, k, v)
				}
			}
		}
	}
}

func TestInfo(t *testing.T) {
	t.Setenv("BENCH_SERVER", "net-http")
	code, body := get(t, "/info")
	if code != http.StatusOK || body["impl"] != "go" || body["framework"] != "net/http" ||
		body["server_label"] != "net-http" || body["parallelism"] == nil || body["lock_switch_interval_s"] != nil {
		t.Errorf("%d %v", code, body)
	}
}

func TestBadParams(t *testing.T) {
	for _, path := range []string{
		"/async_sleep", "/sync_sleep?ms=abc", "/sync_sleep?ms=-5", "/cpu_sync?n=-1",
		"/cpu_process?n=1.5", "/fib?n=93", "/json_large?items=", "/cpu_sync?n=99999999999999999999",
		"/upstream_async?ms=-1", "/upstream_async?ms=60001", "/db_async", "/db_async?ms=x",
	} {
		// the I/O endpoints check their parameters once their backend is configured
		t.Setenv("BENCH_UPSTREAM_URL", "http://127.0.0.1:1")
		t.Setenv("BENCH_DATABASE_URL", "postgresql://bench@127.0.0.1:1/bench")
		code, body := get(t, path)
		if code != http.StatusBadRequest || body["error"] == nil {
			t.Errorf("%s: %d %v, want 400 with an error", path, code, body)
		}
	}
}

func TestIOWithoutBackends(t *testing.T) {
	t.Setenv("BENCH_UPSTREAM_URL", "")
	t.Setenv("BENCH_DATABASE_URL", "")
	for path, variable := range map[string]string{
		"/upstream_async?ms=1": "BENCH_UPSTREAM_URL", "/db_async?ms=1": "BENCH_DATABASE_URL",
	} {
		code, body := get(t, path)
		want := map[string]any{"error": variable + " is not set", "status": 503.0}
		if code != http.StatusServiceUnavailable || !reflect.DeepEqual(body, want) {
			t.Errorf("%s: %d %v, want 503 %v", path, code, body, want)
		}
	}
}

// fakeUpstream answers /delay like services/upstream (unsigned: the test checks that the
// object is passed on as received) and records the queries it got.
func fakeUpstream(t *testing.T, status int) (*httptest.Server, *[]string) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		q := r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status != http.StatusOK {
			fmt.Fprint(w, `{"error": "expected ?ms= at most 60000", "status": 400}`)
			return
		}
		fmt.Fprintf(w, `{"nonce": %q, "ms": %s, "at": 1700000000.123456, "sig": "abc"}`, q.Get("nonce"), q.Get("ms"))
	}))
	t.Cleanup(srv.Close)
	return srv, &queries
}

func TestUpstreamAsync(t *testing.T) {
	srv, queries := fakeUpstream(t, http.StatusOK)
	t.Setenv("BENCH_UPSTREAM_URL", srv.URL+"/") // a trailing slash is dropped
	code, body := get(t, "/upstream_async?ms=25")
	nonce, _ := body["nonce"].(string)
	if code != http.StatusOK || len(body) != 4 || body["kind"] != "upstream_async" || body["ms"] != 25.0 ||
		!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(nonce) {
		t.Fatalf("%d %v", code, body)
	}
	want := map[string]any{"nonce": nonce, "ms": 25.0, "at": 1700000000.123456, "sig": "abc"}
	if !reflect.DeepEqual(body["upstream"], want) {
		t.Errorf("upstream %v, want %v", body["upstream"], want)
	}
	if len(*queries) != 1 || (*queries)[0] != "ms=25&nonce="+nonce {
		t.Errorf("upstream got %q", *queries)
	}
	_, again := get(t, "/upstream_async?ms=0")
	if again["nonce"] == nonce {
		t.Errorf("the nonce %s was used twice", nonce)
	}
}

func TestUpstreamFailures(t *testing.T) {
	refusing := httptest.NewServer(http.NotFoundHandler())
	refusing.Close() // nothing listens there any more
	bad, _ := fakeUpstream(t, http.StatusBadRequest)
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "[1, 2]")
	}))
	t.Cleanup(notJSON.Close)
	for _, c := range []struct{ url, mention string }{
		{refusing.URL, "connection refused"},
		{bad.URL, "upstream answered 400"},
		{notJSON.URL, "no JSON object"},
	} {
		t.Setenv("BENCH_UPSTREAM_URL", c.url)
		code, body := get(t, "/upstream_async?ms=1")
		msg, _ := body["error"].(string)
		if code != http.StatusBadGateway || body["status"] != 502.0 || !strings.Contains(msg, c.mention) {
			t.Errorf("%s: %d %v, want 502 naming %q", c.url, code, body, c.mention)
		}
	}
}

func TestPools(t *testing.T) {
	cases := []struct {
		dbMaxOpen, httpMaxConns string
		want                    map[string]any
	}{
		{"", "", map[string]any{
			"database-sql":   map[string]any{"size": nil, "kind": "connections", "idle": 2.0},
			"http-transport": map[string]any{"size": nil, "kind": "connections", "idle": 2.0},
		}},
		{"0", "0", map[string]any{
			"database-sql":   map[string]any{"size": nil, "kind": "connections", "idle": 2.0},
			"http-transport": map[string]any{"size": nil, "kind": "connections", "idle": 2.0},
		}},
		{"20", "150", map[string]any{
			"database-sql":   map[string]any{"size": 20.0, "kind": "connections", "idle": 20.0},
			"http-transport": map[string]any{"size": 150.0, "kind": "connections", "idle": 150.0},
		}},
	}
	for _, c := range cases {
		t.Setenv("BENCH_DATABASE_URL", "postgresql://bench@127.0.0.1:1/bench")
		t.Setenv("BENCH_DB_MAX_OPEN", c.dbMaxOpen)
		t.Setenv("BENCH_HTTP_MAX_CONNS", c.httpMaxConns)
		code, body := get(t, "/info")
		if code != http.StatusOK || !reflect.DeepEqual(body["pools"], c.want) {
			t.Errorf("%q %q: pools %v, want %v", c.dbMaxOpen, c.httpMaxConns, body["pools"], c.want)
		}
	}
	if http.DefaultTransport.(*http.Transport).MaxConnsPerHost != 0 {
		t.Error("the setting changed http.DefaultTransport instead of a clone")
	}
}

func TestBadSettings(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"BENCH_DB_MAX_OPEN", "-1"}, {"BENCH_DB_MAX_OPEN", "ten"}, {"BENCH_HTTP_MAX_CONNS", "1.5"},
	} {
		t.Setenv(c.name, c.value)
		if _, err := loadBackends(); err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s=%s: %v, want an error naming it", c.name, c.value, err)
		}
		t.Setenv(c.name, "")
	}
}
