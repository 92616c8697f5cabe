package session

import (
	"context"
	"fmt"
	"time"

	"github.com/seed58a3dad2/session/store"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the Meter and the Tracer the Manager asks its
// providers for.
const instrumentationName = "github.com/seed58a3dad2/session"

// observer holds what Config.MeterProvider and Config.TracerProvider switch
// on: the metric instruments and the tracer. A Manager with neither has a
// nil observer, makes no instrument and spends nothing per request on them.
// The options every measurement takes are made once here, so that a
// measurement allocates only what the SDK does.
type observer struct {
	tracer trace.Tracer // nil without a TracerProvider: no spans

	requests  metric.Int64Counter
	duration  metric.Float64Histogram
	created   metric.Int64Counter
	destroyed metric.Int64Counter
	expired   metric.Int64Counter
	live      metric.Registration // the session.live callback; nil when the store cannot count

	requestOpts   [numOutcomes][]metric.AddOption
	durationOpts  [numOps][numCallOutcomes][]metric.RecordOption
	destroyedOpts map[Reason][]metric.AddOption
	spanNames     [numOps]string
	spanOpts      [numOps][]trace.SpanStartOption
	spanOutcome   [numCallOutcomes][]attribute.KeyValue
}

// The attribute keys of the metrics and spans.
const (
	attrOutcome   = attribute.Key("session.outcome")
	attrOperation = attribute.Key("session.operation")
	attrReason    = attribute.Key("session.reason")
)

// durationBuckets are the bounds, in seconds, of session.store.duration's
// buckets: from a memstore call (microseconds) to a call that reaches the
// default StoreTimeout (2 seconds).
var durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// newObserver makes the instruments of cfg's providers, or returns nil when
// it has none. counter, when not nil, is the store's index, which
// session.live reads at each collection.
func newObserver(cfg Config, counter store.Indexer) (*observer, error) {
	if cfg.MeterProvider == nil && cfg.TracerProvider == nil {
		return nil, nil
	}
	o := &observer{}
	if cfg.TracerProvider != nil {
		o.tracer = cfg.TracerProvider.Tracer(instrumentationName)
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	meter := mp.Meter(instrumentationName)
	var errs [6]error
	o.requests, errs[0] = meter.Int64Counter("session.requests", metric.WithUnit("{request}"),
		metric.WithDescription("Requests through the session middleware, by what became of their session (session.outcome)."))
	o.duration, errs[1] = meter.Float64Histogram("session.store.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of the session store's calls, by session.operation and session.outcome."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	o.created, errs[2] = meter.Int64Counter("session.created", metric.WithUnit("{session}"),
		metric.WithDescription("Sessions stored for the first time."))
	o.destroyed, errs[3] = meter.Int64Counter("session.destroyed", metric.WithUnit("{session}"),
		metric.WithDescription("Sessions ended on purpose, by session.reason."))
	o.expired, errs[4] = meter.Int64Counter("session.expired", metric.WithUnit("{session}"),
		metric.WithDescription("Sessions that timed out, as this server learned of them."))
	if counter != nil {
		var live metric.Int64ObservableGauge
		live, errs[5] = meter.Int64ObservableGauge("session.live", metric.WithUnit("{session}"),
			metric.WithDescription("Sessions live in the store, as its index counts them."))
		if errs[5] == nil {
			o.live, errs[5] = meter.RegisterCallback(func(ctx context.Context, obs metric.Observer) error {
				n, err := counter.Count(ctx)
				if err != nil {
					return fmt.Errorf("session: count live sessions: %w", err)
				}
				obs.ObserveInt64(live, int64(n))
				return nil
			}, live)
		}
	}
	for _, err := range errs {
		if err != nil {
			o.close() // the gauge may be registered already
			return nil, fmt.Errorf("session: Config.MeterProvider: %w", err)
		}
	}
	o.makeOptions()
	return o, nil
}

// makeOptions makes the attribute sets of every measurement and span.
func (o *observer) makeOptions() {
	for out := range numOutcomes {
		o.requestOpts[out] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attrOutcome.String(out.String())))}
	}
	for op := range numOps {
		for res := range numCallOutcomes {
			set := attribute.NewSet(attrOperation.String(op.String()), attrOutcome.String(res.String()))
			o.durationOpts[op][res] = []metric.RecordOption{metric.WithAttributeSet(set)}
		}
		o.spanNames[op] = "session.store." + op.String()
		o.spanOpts[op] = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrOperation.String(op.String()))}
	}
	for res := range numCallOutcomes {
		o.spanOutcome[res] = []attribute.KeyValue{attrOutcome.String(res.String())}
	}
	o.destroyedOpts = make(map[Reason][]metric.AddOption)
	for _, r := range []Reason{ReasonLogout, ReasonAdmin, ReasonLogoutEverywhere, ReasonEvicted, ReasonCleared} {
		o.destroyedOpts[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attrReason.String(string(r))))}
	}
}

// close stops session.live's callback.
func (o *observer) close() {
	if o != nil && o.live != nil {
		_ = o.live.Unregister()
	}
}

// outcome is what became of a request's session, the session.outcome of
// session.requests. A request's outcome is the greatest it reached, in this
// order.
type outcome uint8

const (
	// outcomeNone: the request ended without a session: it came with no
	// token, a token that did not verify or one whose session was gone,
	// and stored nothing.
	outcomeNone outcome = iota
	// outcomeLoaded: the request had a live session and changed nothing in
	// it: it read it, renewed its expiry, or left it alone (no store call
	// at all).
	outcomeLoaded
	// outcomeSaved: the request changed a stored session: a write (Set,
	// Delete, Add, Take), a renewal of its ID or a destroy.
	outcomeSaved
	// outcomeNew: the request stored a new session.
	outcomeNew
	// outcomeStoreError: a store call of the request failed (the
	// ErrorHandler's 503, a request that went on without its session under
	// ProceedAnonymous, or a late change that could not be saved). A limit
	// (MaxKeys, MaxSessions) is an answer, not a failure.
	outcomeStoreError
	numOutcomes
)

// String returns the outcome's session.outcome value.
func (o outcome) String() string {
	return [...]string{"none", "loaded", "saved", "new", "store_error"}[o]
}

// reached records that the request's session came to o. s.mu must be held.
func (s *Session) reached(o outcome) { s.outcome = max(s.outcome, o) }

// finalOutcome is the request's outcome once the handler returned.
func (s *Session) finalOutcome() outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	least := outcomeNone
	if s.state == stateStored {
		least = outcomeLoaded // a live session, whether or not the request called the store
	}
	return max(s.outcome, least)
}

// request counts a request that went through the middleware.
func (o *observer) request(ctx context.Context, out outcome) {
	o.requests.Add(ctx, 1, o.requestOpts[out]...)
}

// sessionCreated counts a session stored for the first time.
func (o *observer) sessionCreated(ctx context.Context) {
	if o != nil {
		o.created.Add(ctx, 1)
	}
}

// sessionDestroyed counts a session ended on purpose.
func (o *observer) sessionDestroyed(ctx context.Context, reason Reason) {
	if o == nil {
		return
	}
	opts, ok := o.destroyedOpts[reason]
	if !ok {
		opts = []metric.AddOption{metric.WithAttributes(attrReason.String(string(reason)))}
	}
	o.destroyed.Add(ctx, 1, opts...)
}

// sessionExpired counts a session that timed out.
func (o *observer) sessionExpired(ctx context.Context) {
	if o != nil {
		o.expired.Add(ctx, 1)
	}
}

// storeCall is one store call being measured and traced.
type storeCall struct {
	o     *observer
	op    storeOp
	start time.Time
	span  trace.Span // nil without a tracer
}

// begin starts measuring a store call, and its span, which ctx then holds
// for the store (a traced Redis client nests its own spans under it).
func (o *observer) begin(ctx context.Context, op storeOp) (context.Context, storeCall) {
	c := storeCall{o: o, op: op}
	if o.tracer != nil {
		ctx, c.span = o.tracer.Start(ctx, o.spanNames[op], o.spanOpts[op]...)
	}
	c.start = time.Now()
	return ctx, c
}

// end records the call's duration and outcome, and ends its span. A
// failure goes into the span with ids redacted from its message.
func (c storeCall) end(ctx context.Context, found bool, err error, ids ...string) {
	elapsed := time.Since(c.start).Seconds()
	res := callOutcomeOf(found, err)
	c.o.duration.Record(ctx, elapsed, c.o.durationOpts[c.op][res]...)
	if c.span == nil {
		return
	}
	c.span.SetAttributes(c.o.spanOutcome[res]...)
	if res == callError {
		err = redactID(err, ids...)
		c.span.RecordError(err)
		c.span.SetStatus(codes.Error, err.Error())
	}
	c.span.End()
}
