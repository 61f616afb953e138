package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

const testKey = "test-key"

// TestMain runs main itself when the test binary is started as a child by TestMainExits.
func TestMain(m *testing.M) {
	if os.Getenv("UPSTREAM_RUN_MAIN") == "1" {
		os.Args = append([]string{"upstream"}, strings.Fields(os.Getenv("UPSTREAM_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

// get sends one request through the server's mux and decodes the JSON answer.
func get(t *testing.T, s *server, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.mux().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: body is not a JSON object: %v: %s", path, err, rec.Body)
	}
	return rec.Code, body
}

// wantSig is the signature computed independently of server.sign.
func wantSig(nonce, ms string) string {
	mac := hmac.New(sha256.New, []byte(testKey))
	mac.Write([]byte(nonce + ":" + ms))
	return hex.EncodeToString(mac.Sum(nil))
}

func TestDelay(t *testing.T) {
	long := strings.Repeat("x", 128)
	cases := []struct {
		path, nonce, ms string
		wantMS          float64 // JSON numbers decode as float64
	}{
		{"/delay?ms=0&nonce=abc", "abc", "0", 0},
		{"/delay?ms=30&nonce=A-z_09", "A-z_09", "30", 30},
		{"/delay?ms=007&nonce=n", "n", "7", 7}, // leading zeros: signed as the decimal integer
		{"/delay?nonce=" + long + "&ms=1", long, "1", 1},
	}
	s := &server{key: []byte(testKey)}
	for _, c := range cases {
		start := time.Now()
		code, body := get(t, s, c.path)
		elapsed := time.Since(start)
		if code != http.StatusOK || len(body) != 4 || body["nonce"] != c.nonce || body["ms"] != c.wantMS ||
			body["sig"] != wantSig(c.nonce, c.ms) {
			t.Errorf("%s: %d %v", c.path, code, body)
		}
		if elapsed < time.Duration(c.wantMS)*time.Millisecond {
			t.Errorf("%s: answered in %v, want >= %vms", c.path, elapsed, c.wantMS)
		}
		at, _ := body["at"].(float64)
		sleptUntil := float64(start.UnixNano())/1e9 + c.wantMS/1000
		if at < sleptUntil-0.001 || at > float64(time.Now().UnixNano())/1e9+0.001 {
			t.Errorf("%s: at %v, want after the sleep (>= %v) and before now", c.path, at, sleptUntil)
		}
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct{ path, mention string }{
		{"/delay?nonce=abc", "?ms= a non-negative integer"},
		{"/delay?ms=&nonce=abc", "?ms= a non-negative integer"},
		{"/delay?ms=abc&nonce=abc", "?ms= a non-negative integer"},
		{"/delay?ms=-1&nonce=abc", "?ms= a non-negative integer"},
		{"/delay?ms=%2B5&nonce=abc", "?ms= a non-negative integer"}, // +5
		{"/delay?ms=%205&nonce=abc", "?ms= a non-negative integer"}, // " 5"
		{"/delay?ms=1.5&nonce=abc", "?ms= a non-negative integer"},
		{"/delay?ms=1e3&nonce=abc", "?ms= a non-negative integer"},
		{"/delay?ms=99999999999999999999&nonce=abc", "?ms= a non-negative integer"},
		{"/delay?ms=60001&nonce=abc", "?ms= at most 60000"},
		{"/delay?ms=1", "?nonce= 1 to 128 characters"},
		{"/delay?ms=1&nonce=", "?nonce= 1 to 128 characters"},
		{"/delay?ms=1&nonce=" + strings.Repeat("x", 129), "?nonce= 1 to 128 characters"},
		{"/delay?ms=1&nonce=a.b", "?nonce= 1 to 128 characters"},
		{"/delay?ms=1&nonce=a%20b", "?nonce= 1 to 128 characters"},
		{"/delay?ms=1&nonce=a%3Ab", "?nonce= 1 to 128 characters"},  // a colon would make "N:M" ambiguous
		{"/delay?ms=1&nonce=%C3%A9", "?nonce= 1 to 128 characters"}, // é
		{"/delay?ms=1&nonce=abc%0A", "?nonce= 1 to 128 characters"}, // a trailing newline
	}
	s := &server{key: []byte(testKey)}
	for _, c := range cases {
		code, body := get(t, s, c.path)
		msg, _ := body["error"].(string)
		if code != http.StatusBadRequest || body["status"] != 400.0 || !strings.Contains(msg, c.mention) {
			t.Errorf("%s: %d %v, want 400 with an error containing %q", c.path, code, body, c.mention)
		}
	}
	if code, body := get(t, s, "/stats"); code != http.StatusOK || body["served"] != 0.0 {
		t.Errorf("/stats after bad requests only: %d %v, want served 0", code, body)
	}
}

func TestStatsCountsServedDelays(t *testing.T) {
	s := &server{key: []byte(testKey)}
	steps := []struct {
		path       string
		wantServed float64
	}{
		{"/stats", 0},
		{"/delay?ms=0&nonce=a", 1},
		{"/delay?ms=x&nonce=a", 1}, // a 400 is not served
		{"/health", 1},
		{"/delay?ms=1&nonce=b", 2},
	}
	for _, st := range steps {
		get(t, s, st.path)
		if code, body := get(t, s, "/stats"); code != http.StatusOK || len(body) != 1 || body["served"] != st.wantServed {
			t.Errorf("after %s: /stats %d %v, want served %v", st.path, code, body, st.wantServed)
		}
	}
}

func TestHealth(t *testing.T) {
	code, body := get(t, &server{key: []byte(testKey)}, "/health")
	if code != http.StatusOK || len(body) != 3 || body["ok"] != true || body["go_version"] != runtime.Version() ||
		body["gomaxprocs"] != float64(runtime.GOMAXPROCS(0)) {
		t.Errorf("%d %v", code, body)
	}
}

func TestMainExits(t *testing.T) {
	cases := []struct {
		name, args, key, mention string
	}{
		{"no key", "-addr 127.0.0.1:0", "", "BENCH_UPSTREAM_KEY"},
		{"no addr", "", "k", "-addr"},
		{"stray argument", "-addr 127.0.0.1:0 extra", "k", "-addr"},
	}
	for _, c := range cases {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "UPSTREAM_RUN_MAIN=1", "UPSTREAM_ARGS="+c.args, "BENCH_UPSTREAM_KEY="+c.key)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), c.mention) {
			t.Errorf("%s: %v, output %q; want exit 2 naming %s", c.name, err, out, c.mention)
		}
	}
}
