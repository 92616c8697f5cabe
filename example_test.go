package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/seed58a3dad2/session"
	"github.com/seed58a3dad2/session/memstore"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A counter kept in the session: the browser's cookie names it.
func Example() {
	st := memstore.New(memstore.Config{})
	defer st.Close()
	m, err := session.New(session.Config{
		Store: st,
		Keys:  []session.Key{{Hash: []byte("use 32 random bytes from SESSION_KEYS!")}},
	})
	if err != nil {
		panic(err)
	}
	defer m.Close() // stops its reaper
	mux := http.NewServeMux()
	mux.HandleFunc("POST /count", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		n, _, err := session.Get[int](s, "n")
		if err != nil {
			return // the middleware answers: 503 if the store failed, 500 if the value is unreadable
		}
		_ = s.Set("n", n+1)
		fmt.Fprint(w, n+1)
	})
	h := m.Handler(mux)

	var cookie *http.Cookie
	for range 3 {
		r := httptest.NewRequest(http.MethodPost, "/count", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if c := w.Result().Cookies(); len(c) > 0 {
			cookie = c[0]
		}
		fmt.Println(w.Body.String(), cookie.Name, cookie.HttpOnly)
	}
	// Output:
	// 1 session true
	// 2 session true
	// 3 session true
}

// An API client sends its token in the Session-Id header and gets the new
// one back there, with the expiry.
func Example_header() {
	st := memstore.New(memstore.Config{})
	defer st.Close()
	m, _ := session.New(session.Config{Store: st, Keys: []session.Key{{Hash: []byte("use 32 random bytes from SESSION_KEYS!")}}})
	defer m.Close() // stops its reaper
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		user, ok, _ := session.Get[string](s, "user")
		if !ok {
			_ = s.Set("user", "ann")
			user = "new visitor"
		}
		fmt.Fprint(w, user)
	}))

	token := ""
	for range 2 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Session-Id", token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if t := w.Header().Get("Session-Id"); t != "" {
			token = t
		}
		fmt.Println(w.Body.String(), len(w.Result().Cookies()), w.Header().Get("Session-Expires") != "")
	}
	// Output:
	// new visitor 0 true
	// ann 0 true
}

// Require turns away requests without a live session, with a JSON answer a
// client can act on.
func ExampleManager_Require() {
	st := memstore.New(memstore.Config{})
	defer st.Close()
	m, _ := session.New(session.Config{Store: st, Keys: []session.Key{{Hash: []byte("use 32 random bytes from SESSION_KEYS!")}}})
	defer m.Close() // stops its reaper
	h := m.Handler(m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secret")
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	// Output:
	// 401 {"error":"session_required","message":"this request needs a session; none was sent"}
}

// Renew at login gives the session a new ID: a planted ID is worthless.
func ExampleSession_Renew() {
	st := memstore.New(memstore.Config{})
	defer st.Close()
	m, _ := session.New(session.Config{Store: st, Keys: []session.Key{{Hash: []byte("use 32 random bytes from SESSION_KEYS!")}}})
	defer m.Close() // stops its reaper
	var before, after string
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromContext(r.Context())
		_ = s.Set("cart", 3)
		before = s.ID()
		if err := s.Renew(); err != nil {
			return
		}
		_ = s.Set("user", "ann")
		after = s.ID()
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil))
	fmt.Println(before != after, len(after))
	// Output:
	// true 22
}

// Metrics go to any OpenTelemetry MeterProvider; here the SDK's, read by
// hand. A program would give it an exporter (OTLP, Prometheus) instead.
func Example_metrics() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	st := memstore.New(memstore.Config{})
	defer st.Close()
	m, err := session.New(session.Config{
		Store:         st,
		Keys:          []session.Key{{Hash: []byte("use 32 random bytes from SESSION_KEYS!")}},
		MeterProvider: provider, // and TracerProvider for a span per store call
	})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			_ = session.FromContext(r.Context()).Set("user", "ann")
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil))

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, metric := range sm.Metrics {
			switch data := metric.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					name := metric.Name
					if outcome, ok := dp.Attributes.Value("session.outcome"); ok {
						name += "{" + outcome.AsString() + "}"
					}
					fmt.Println(name, dp.Value)
				}
			case metricdata.Gauge[int64]:
				fmt.Println(metric.Name, data.DataPoints[0].Value)
			}
		}
	}
	// Unordered output:
	// session.requests{none} 1
	// session.requests{new} 1
	// session.created 1
	// session.live 1
}
