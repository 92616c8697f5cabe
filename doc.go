// Package session is HTTP session middleware for net/http and chi: a signed
// cookie or Session-Id header names a server-side session, kept in memory
// (memstore) or in Redis (redisstore), that expires after a sliding idle
// timeout.
//
// Sessions are lazy and cheap: nothing is read from the store until a handler
// reads, writes are saved as a delta of the keys that changed (so concurrent
// requests on one session never lose each other's updates), and a request
// that does not touch its session costs no store round trip at all.
//
//	m, err := session.New(session.Config{
//		Store: memstore.New(memstore.Config{}),
//		Keys:  keys, // session.ParseKeys(os.Getenv("SESSION_KEYS"))
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.HandleFunc("POST /counter", func(w http.ResponseWriter, r *http.Request) {
//		s := session.FromContext(r.Context())
//		n, _, err := session.Get[int](s, "n")
//		if err != nil {
//			return // the middleware answers: 503 if the store failed, 500 if the value is unreadable
//		}
//		s.Set("n", n+1)
//		fmt.Fprintln(w, n+1)
//	})
//	http.ListenAndServe(":8080", m.Handler(mux))
package session
