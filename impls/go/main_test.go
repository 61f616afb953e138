package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

// get sends one request through the mux and decodes the JSON answer.
func get(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	newMux().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
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
	} {
		code, body := get(t, path)
		if code != http.StatusBadRequest || body["error"] == nil {
			t.Errorf("%s: %d %v, want 400 with an error", path, code, body)
		}
	}
}
