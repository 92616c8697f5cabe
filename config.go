package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/seed58a3dad2/session/store"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Config configures a Manager. Its zero value, with a Store and at least one
// Key, is a working configuration: every other field states its default.
type Config struct {
	// Store keeps the sessions. Required: memstore.New for one process,
	// redisstore.New for a server farm.
	Store store.Store

	// Keys sign (and, when a Key has a Block, encrypt) session tokens. The
	// first key signs new tokens; every key is tried when verifying, so a
	// key is rotated by putting the new one first and dropping the old one
	// once the tokens it signed have expired. Required. ParseKeys reads them
	// from an environment variable. New copies them: the caller may wipe its
	// slices afterwards.
	Keys []Key

	// IdleTimeout is how long a session lives without requests; every
	// request renews it (sliding expiry). Default: 20 minutes.
	IdleTimeout time.Duration

	// Lifetime, when positive, is the absolute limit on a session's age,
	// however active it is. Renew keeps the session's age. Default: 0, no
	// limit.
	Lifetime time.Duration

	// TouchInterval is how old a token must be before a request that does
	// not write to the session renews the expiry in the store. Renewing on
	// every request costs a store write per request for nothing; with the
	// default, a session can expire up to TouchInterval earlier than an
	// exact sliding window would make it. Negative renews on every request.
	// Default: IdleTimeout/20 (1 minute of 20).
	TouchInterval time.Duration

	// Cookie configures the session cookie.
	Cookie CookieConfig

	// Transport chooses how tokens travel. Default: TransportBoth.
	Transport Transport

	// Codec encodes values. Default: JSON, readable with redis-cli and by
	// services not written in Go.
	Codec Codec

	// StoreTimeout bounds each store call, on top of the request's own
	// context: a request's, the reaper's claims and deletions, and each
	// event published (PublishEvents). Stores that never block
	// (store.Nonblocking, such as memstore) are called without it. Default:
	// 2 seconds.
	StoreTimeout time.Duration

	// MaxTokenLength is the longest token accepted; longer ones are ignored
	// unread. Default: 1024 bytes.
	MaxTokenLength int
	// MaxKeyLength is the longest key Set accepts. Default: 128 bytes.
	MaxKeyLength int
	// MaxValueSize is the largest encoded value Set accepts. Default: 64 KiB.
	MaxValueSize int
	// MaxKeys is the most keys one session may hold. Default: 256.
	MaxKeys int

	// ErrorHandler writes the response when the store fails (503), a limit
	// is exceeded (413, or 503 for MaxSessions, 403 for MaxUserSessions) or
	// a value a handler read and left unanswered cannot be decoded (500).
	// Default: a JSON body when the client accepts JSON, plain text
	// otherwise; see DefaultErrorHandler.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// OnError receives errors no response can carry: a change made after
	// the response headers were sent that could not be saved, a change a
	// panic discarded, a hook's error or panic, a failure of the reaper. r
	// is nil for errors outside a request. Default: log the error with
	// Logger at level Error, with the request's method and path; IDs and
	// tokens are never in the message (see Logger).
	OnError func(r *http.Request, err error)

	// Logger receives what the default OnError logs. The library puts no
	// session ID or token in an error it makes: where a store's error
	// quotes the ID (a Redis key name, say), or a hook's error or panic
	// quotes the ID it was given, the ID is replaced by "[session ID]"
	// (errors.Is and errors.As still see the original error). Default: slog.Default(), read at each message, so that a
	// later slog.SetDefault applies.
	Logger *slog.Logger

	// MeterProvider, when set, receives the Manager's metrics: requests by
	// outcome, store-call latency by operation, sessions created,
	// destroyed and expired, and the live sessions of a store that counts
	// them (the README's "Logs, metrics and traces" lists them). Default:
	// nil, no metrics, and nothing spent on them.
	MeterProvider metric.MeterProvider

	// TracerProvider, when set, receives a span for each store call, named
	// "session.store.<operation>" with the operation and its outcome.
	// Default: nil, no spans, and nothing spent on them.
	TracerProvider trace.TracerProvider

	// OnStoreError, when set, is called for each store call of a request
	// that fails, with the session's ID (secret: log it with care); if it
	// returns true the call is made once more, and only a second failure
	// fails the request (the seed's OnException with aRetry). It is never
	// asked twice for one call. Default: none, no retry.
	OnStoreError func(r *http.Request, id string, err error) (retry bool)

	// OnCreated runs when a new session is about to be stored for the first
	// time (lazy creation: when the first request that set a value
	// commits), and may Set default values. An error or panic goes to
	// OnError; the session is stored all the same. Not called for a
	// renewed (moved) session.
	OnCreated func(ctx context.Context, s *Session) error

	// OnDestroyed runs after a session was ended on purpose: a logout
	// (Session.Destroy, CloseHandler), Manager.Destroy, Manager.DestroyUser,
	// an eviction by MaxUserSessions, Manager.Clear. Never for a timeout
	// (OnExpired). It runs on the server that ended the session; see
	// Manager.Subscribe for every server. An error or panic goes to
	// OnError.
	OnDestroyed func(ctx context.Context, e Ended) error

	// OnExpired runs once per session that timed out, on one server of the
	// farm, with the values the session held. An error or a panic makes the
	// expiry come back later (at least once, to this or another server);
	// once it returned nil the expiry never fires again. It needs a store
	// that keeps expired sessions (store.Expirer: memstore, redisstore with
	// Index, sqlstore); New refuses it otherwise.
	OnExpired func(ctx context.Context, e Expiry) error

	// PublishEvents, when true, tells every server that shares the store
	// about each session that ends here, destroyed or expired, so that its
	// Manager.Subscribe callbacks run: to close that session's websockets
	// wherever they are. It costs one store call per destroy and expiry. It
	// needs a store.Notifier. Default: false.
	PublishEvents bool

	// ReapInterval is how often the reaper looks for expired sessions, on a
	// store that keeps them (store.Expirer): it hands them to OnExpired and
	// deletes them. A pass also runs when the Manager starts, so expiries
	// that fell while no server ran fire then. Negative: no background
	// reaper (call Manager.Reap). Default: 5 seconds.
	ReapInterval time.Duration

	// ReapLease is how long one server holds an expired session while its
	// OnExpired runs; if the hook has not returned by then (the server
	// died), another server gets it. Default: 1 minute.
	ReapLease time.Duration

	// MaxSessions, when positive, is the most sessions the application may
	// have live at once, counted exactly across a farm; a request that
	// would store one more fails with ErrMaxSessions (503), unless
	// OnMaxSessions lets it through. A public server should set it: every
	// client without a cookie can start a session, and one that opens
	// sessions in a loop would otherwise fill the store. It needs a
	// store.Limiter. Default: 0, no limit.
	MaxSessions int

	// OnMaxSessions, when set, decides for a request that would store a
	// session beyond MaxSessions: true lets it through (an administrator,
	// say), false fails it with ErrMaxSessions. Default: none, fail.
	OnMaxSessions func(r *http.Request) bool

	// MaxUserSessions, when positive, is the most sessions one user may
	// have (Session.Login); what happens at the login that would exceed it
	// is UserLimit's choice. It needs a store.Indexer. It is checked at each
	// login, so concurrent logins of one user may leave more, until the
	// user's next login (EvictOldest) or until the extra sessions end.
	// Default: 0, no limit.
	MaxUserSessions int

	// UserLimit says what a login beyond MaxUserSessions does. Default:
	// EvictOldest.
	UserLimit UserLimit

	// StoreDown says what a request does when its session cannot be
	// loaded because the store failed. Default: FailClosed.
	StoreDown StoreDown

	// Now is the clock. Default: time.Now. Tests inject a fake one.
	Now func() time.Time
}

// CookieConfig configures the session cookie. Field names follow http.Cookie.
type CookieConfig struct {
	// Name of the cookie, after Prefix. Default: "session".
	Name string
	// Prefix is put before Name, so that several applications or instances
	// on one origin keep separate sessions ("chat_" gives "chat_session").
	// Default: none.
	Prefix string
	// HostPrefix adds the "__Host-" prefix, which browsers accept only with
	// Secure, Path=/ and no Domain: the cookie cannot be set by a subdomain.
	// It forces Secure. Default: false.
	HostPrefix bool
	// Path of the cookie. Default: "/".
	Path string
	// Domain of the cookie. Default: none (host only).
	Domain string
	// Secure forces the Secure attribute. Default: false, in which case the
	// cookie is Secure when the request came over TLS.
	Secure bool
	// SameSite mode. Default: http.SameSiteLaxMode. http.SameSiteNoneMode
	// needs Secure (New refuses it otherwise): browsers drop a
	// SameSite=None cookie that is not Secure.
	SameSite http.SameSite
	// AllowScripts leaves out HttpOnly, letting page scripts read the
	// cookie. Default: false (HttpOnly).
	AllowScripts bool
	// Partitioned adds the Partitioned attribute (CHIPS), for an
	// application embedded in other sites' iframes: browsers that block
	// third-party cookies keep a partitioned one, in a jar of its own per
	// top-level site. It needs Secure (New refuses it otherwise) and usually
	// SameSite None. Default: false.
	Partitioned bool
}

// Transport says where tokens are read from and written to.
type Transport int

const (
	// TransportBoth reads the Session-Id header, else the cookie. A request
	// that sent the header (API and JavaScript clients, even with an empty
	// value) gets its token back in the Session-Id header only, never a
	// cookie. A request that sent a cookie gets its token back in the cookie
	// only, never a header that page scripts could read. A request with
	// neither gets both: it may be a new client of either kind.
	TransportBoth Transport = iota
	// TransportCookie uses the cookie only: the token never appears in a
	// header, so page scripts cannot read an HttpOnly session.
	TransportCookie
	// TransportHeader uses the Session-Id header only: no cookies.
	TransportHeader
)

// StoreDown says what a request does when its session cannot be loaded
// (Config.StoreDown).
type StoreDown int

const (
	// FailClosed answers the request with the ErrorHandler's 503: nothing
	// runs without its session.
	FailClosed StoreDown = iota
	// ProceedAnonymous lets the request go on as one without a session:
	// IsNew reports true and reads find nothing. Its changes are refused
	// (Set, Renew and Login return an error wrapping ErrStore; every
	// refused change goes to OnError), nothing is written, and the
	// client's token is left as it is for when the store is back, so that
	// nothing of this request can ever reach another session. A Destroy is
	// still carried out, or answered with 503 if the store cannot. For
	// pages that read the session only to personalise them.
	ProceedAnonymous
)

// UserLimit says what a login beyond Config.MaxUserSessions does.
type UserLimit int

const (
	// EvictOldest ends the user's oldest sessions (OnDestroyed with
	// ReasonEvicted) to make room for the new one.
	EvictOldest UserLimit = iota
	// RefuseLogin fails the login with ErrTooManyUserSessions (403); the
	// user's other sessions stay.
	RefuseLogin
)

// Key is one signing key, with an optional encryption key.
type Key struct {
	// Hash signs tokens with HMAC-SHA256: 32 or 64 random bytes.
	Hash []byte
	// Block, when set, encrypts tokens with AES: 16, 24 or 32 random bytes.
	// Tokens hold only the session ID and two instants, so encryption is
	// rarely needed.
	Block []byte
}

const (
	defaultIdleTimeout    = 20 * time.Minute
	defaultStoreTimeout   = 2 * time.Second
	defaultMaxTokenLength = 1024
	defaultMaxKeyLength   = 128
	defaultMaxValueSize   = 64 << 10
	defaultMaxKeys        = 256
	defaultReapInterval   = 5 * time.Second
	defaultReapLease      = time.Minute
	minHashKeyLength      = 32
)

// withDefaults returns cfg with its zero fields filled in, or an error saying
// what to fix.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Store == nil {
		return cfg, errors.New("session: Config.Store is nil: use memstore.New or redisstore.New")
	}
	if len(cfg.Keys) == 0 {
		return cfg, errors.New("session: Config.Keys is empty: give at least one key of 32 random bytes (see ParseKeys)")
	}
	for i, k := range cfg.Keys {
		if len(k.Hash) < minHashKeyLength {
			return cfg, fmt.Errorf("session: Config.Keys[%d].Hash has %d bytes: use at least %d random bytes", i, len(k.Hash), minHashKeyLength)
		}
		switch len(k.Block) {
		case 0, 16, 24, 32:
		default:
			return cfg, fmt.Errorf("session: Config.Keys[%d].Block has %d bytes: an AES key has 16, 24 or 32", i, len(k.Block))
		}
	}
	if cfg.IdleTimeout < 0 || cfg.Lifetime < 0 || cfg.StoreTimeout < 0 {
		return cfg, errors.New("session: IdleTimeout, Lifetime and StoreTimeout must not be negative")
	}
	if cfg.MaxTokenLength < 0 || cfg.MaxKeyLength < 0 || cfg.MaxValueSize < 0 || cfg.MaxKeys < 0 {
		return cfg, errors.New("session: limits must not be negative")
	}
	if cfg.Transport < TransportBoth || cfg.Transport > TransportHeader {
		return cfg, fmt.Errorf("session: unknown Transport %d", cfg.Transport)
	}
	setDefault(&cfg.IdleTimeout, defaultIdleTimeout)
	if cfg.TouchInterval == 0 {
		cfg.TouchInterval = cfg.IdleTimeout / 20
	}
	if cfg.TouchInterval >= cfg.IdleTimeout {
		return cfg, fmt.Errorf("session: TouchInterval %v must be shorter than IdleTimeout %v", cfg.TouchInterval, cfg.IdleTimeout)
	}
	setDefault(&cfg.StoreTimeout, defaultStoreTimeout)
	setDefault(&cfg.MaxTokenLength, defaultMaxTokenLength)
	setDefault(&cfg.MaxKeyLength, defaultMaxKeyLength)
	setDefault(&cfg.MaxValueSize, defaultMaxValueSize)
	setDefault(&cfg.MaxKeys, defaultMaxKeys)
	setDefault(&cfg.Cookie.Name, "session")
	setDefault(&cfg.Cookie.Path, "/")
	setDefault(&cfg.Cookie.SameSite, http.SameSiteLaxMode)
	if cfg.Cookie.HostPrefix {
		if cfg.Cookie.Domain != "" || cfg.Cookie.Path != "/" {
			return cfg, errors.New("session: a __Host- cookie must have Path \"/\" and no Domain")
		}
		cfg.Cookie.Secure = true
	}
	if cfg.Cookie.Partitioned && !cfg.Cookie.Secure && cfg.Transport != TransportHeader {
		return cfg, errors.New("session: Config.Cookie.Partitioned needs Cookie.Secure: true: browsers accept partitioned cookies only when Secure")
	}
	if cfg.Cookie.SameSite == http.SameSiteNoneMode && !cfg.Cookie.Secure && cfg.Transport != TransportHeader {
		// Secure only on TLS requests would send it without Secure behind a
		// TLS-terminating proxy, and browsers drop such cookies.
		return cfg, errors.New("session: Config.Cookie.SameSite None needs Cookie.Secure: true: browsers drop a SameSite=None cookie that is not Secure")
	}
	if cfg.MaxSessions < 0 || cfg.MaxUserSessions < 0 || cfg.ReapLease < 0 {
		return cfg, errors.New("session: MaxSessions, MaxUserSessions and ReapLease must not be negative")
	}
	if cfg.UserLimit < EvictOldest || cfg.UserLimit > RefuseLogin {
		return cfg, fmt.Errorf("session: unknown UserLimit %d", cfg.UserLimit)
	}
	if cfg.StoreDown < FailClosed || cfg.StoreDown > ProceedAnonymous {
		return cfg, fmt.Errorf("session: unknown StoreDown %d", cfg.StoreDown)
	}
	setDefault(&cfg.ReapInterval, defaultReapInterval)
	setDefault(&cfg.ReapLease, defaultReapLease)
	if cfg.Codec == nil {
		cfg.Codec = JSON{}
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = DefaultErrorHandler
	}
	if cfg.OnError == nil {
		cfg.OnError = logError(cfg.Logger)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}
