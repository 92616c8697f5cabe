// session.js: the browser client of github.com/seed58a3dad2/session.
// An ES module with no dependencies and no build step; the Go package serves
// it (jsclient.Handler). Types are in session.d.ts beside it.

// The clock of a client that is given none.
const systemClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id),
};

// setTimeout runs a longer delay at once; a timer that far off is re-armed
// when it fires.
const maxDelay = 2 ** 31 - 1;

// The user input that counts as using the page, for keepAlive. Listened to
// on window in the capture phase, so that no element can hide it.
const activityEvents = ["pointerdown", "pointermove", "keydown", "wheel", "scroll", "touchstart"];

/**
 * A client that keeps one server-side session for the fetch calls made
 * through it.
 *
 * It sends the session token in the `Session-Id` header (an empty header
 * while it has none, so the server never falls back to a cookie meant for
 * someone else), reads `Session-Id` and `Session-Expires` from every
 * response, and forgets the token as soon as the session is over: when its
 * expiry has passed (it never sends a dead ID), when the server answers it
 * with an empty `Session-Id` (the session is gone), and on a 401
 * `{"error":"session_expired"}`.
 *
 *     import { SessionClient } from "/session.js";
 *
 *     const chat = new SessionClient({
 *       persist: true,
 *       prefix: "chat_",
 *       closeURL: "/api/logout",
 *       keepAlive: { url: "/api/keepalive" }, // renew while the page is in use
 *       onLoginNeeded: async () => (await chat.fetch("/api/login", { method: "POST", body })).ok,
 *     });
 *     chat.addEventListener("expired", (e) => showLogin(e.detail.reason));
 *     const res = await chat.fetch("/api/counter", { method: "POST" });
 *     await chat.closeSession(); // log out
 *
 * A long-running page either keeps its session alive or handles its expiry
 * gracefully, as the seed's channels do:
 *
 * - `keepAlive` renews the session shortly before it expires, but only
 *   while the page is in use: visible, and with user input (pointer, key,
 *   wheel, scroll, touch) within the idle window. A page left alone lets
 *   its session expire as the server's idle timeout says.
 * - `onLoginNeeded` is called when a call answers 401 `session_expired` or
 *   `session_required`; if it resolves true (it logged in), the call is sent
 *   once more with the new token and that answer is returned.
 *
 * Events: `change` whenever the token or the expiry changes, and `expired`
 * (a CustomEvent whose detail is `{reason, message}`) when the session ended
 * without closeSession: reason `"timeout"` (its expiry passed), `"gone"` (the
 * server no longer knows it) or `"rejected"` (a route that requires a
 * session answered 401 session_expired; message is the server's). With
 * keepAlive on, `expired` fires at the expiry itself; without it, at the
 * first use of the client after it.
 */
export class SessionClient extends EventTarget {
  #token = ""; // "" while there is no session
  #expires = 0; // when the session expires, in ms on this client's clock
  #offset = 0; // how far the server's clock is ahead of this one, in ms
  #span = 0; // the session's length when the server last renewed it, in ms; 0: unknown
  #persist;
  #cookie; // the persistence cookie's full name
  #cookiePath;
  #closeURL;
  #fetch;
  #clock;

  // keepAlive: its settings while on, null while off or stopped.
  #keepAlive = null; // {url, idle, before}; before is null for the default
  #timer; // the one pending timer, or undefined
  #renewAt = Infinity; // when the next keep-alive may go; Infinity: none before the expiry
  #lastRenewal = -Infinity; // when the last keep-alive went
  #lastActive = 0; // the last user input

  // onLoginNeeded, and the latest login it ran: {promise, running}.
  #onLoginNeeded;
  #login = null;

  /**
   * @param {object} [options]
   * @param {boolean} [options.persist=false] Keep the token in a cookie that
   *   expires with the session, so that a page reload keeps the session.
   *   Without it the token lives in this object only.
   * @param {string} [options.prefix=""] Put before cookieName: `"chat_"`
   *   gives the cookie `chat_sessionid`. Two clients with different prefixes
   *   keep two separate sessions, on one page or across reloads.
   * @param {string} [options.cookieName="sessionid"] The persistence
   *   cookie's name after the prefix. It must differ from the server's own
   *   session cookie (`session` by default).
   * @param {string} [options.cookiePath="/"] The persistence cookie's Path.
   * @param {string|URL} [options.closeURL="/logout"] Where the server mounts
   *   Manager.CloseHandler; closeSession POSTs there.
   * @param {boolean|{url?: string|URL, idle?: number, before?: number, signal?: AbortSignal}} [options.keepAlive=false]
   *   Renew the session while the page is in use; true for the defaults.
   *   `url`: where Manager.KeepAliveHandler is mounted (default
   *   "/keepalive"); `idle`: how long without input the page counts as
   *   idle (default 5 minutes); `before`: how long before the expiry to
   *   renew, and the least time between two keep-alives (default a minute,
   *   or a quarter of the session's length when shorter); `signal` stops it
   *   for good. See KeepAliveOptions in session.d.ts.
   * @param {(detail: {error: string, message: string, response: Response}) => boolean|Promise<boolean>} [options.onLoginNeeded]
   *   Called when a call answers 401 session_expired or session_required;
   *   resolving true (it logged in) sends the call once more. See fetch.
   * @param {typeof fetch} [options.fetch] The fetch to use, called as a plain
   *   function. Default: the global fetch.
   * @param {{now(): number, setTimeout(fn: () => unknown, ms: number): unknown, clearTimeout(id: unknown): void}} [options.clock]
   *   Where time comes from: tests pass a clock they move. Default: Date.now
   *   and the global timers.
   */
  constructor({
    persist = false,
    prefix = "",
    cookieName = "sessionid",
    cookiePath = "/",
    closeURL = "/logout",
    keepAlive = false,
    onLoginNeeded,
    fetch = (input, init) => globalThis.fetch(input, init),
    clock = systemClock,
  } = {}) {
    super();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(prefix + cookieName)) {
      throw new TypeError(`SessionClient: "${prefix}${cookieName}" is not a valid cookie name`);
    }
    if (onLoginNeeded !== undefined && typeof onLoginNeeded !== "function") {
      throw new TypeError("SessionClient: onLoginNeeded must be a function");
    }
    this.#persist = persist;
    this.#cookie = prefix + cookieName;
    this.#cookiePath = cookiePath;
    this.#closeURL = closeURL;
    this.#fetch = fetch;
    this.#clock = clock;
    this.#onLoginNeeded = onLoginNeeded;
    this.#lastActive = clock.now(); // opening the page is using it
    if (keepAlive) this.#startKeepAlive(keepAlive === true ? {} : keepAlive);
    if (persist) this.#sync();
    this.#schedule();
  }

  /** The token, or null when there is no live session. */
  get token() {
    return this.#current() || null;
  }

  /** When the session expires (on this client's clock), or null. */
  get expires() {
    return this.#current() ? new Date(this.#expires) : null;
  }

  /** The persistence cookie's full name: prefix + cookieName. */
  get cookieName() {
    return this.#cookie;
  }

  /**
   * fetch with the session: sends the token, then learns from the response
   * whether the session was renewed, started or ended. Takes and returns what
   * the global fetch does; the response body is left unread.
   *
   * With onLoginNeeded, a 401 `{"error":"session_expired"}` or
   * `{"error":"session_required"}` calls it, and if it resolves true the
   * call is sent once more, with the token the client then holds, and that
   * answer is returned whatever it is: a call is never sent a third time.
   * There is one login at a time: a call that fails after a login began
   * or ended while it was on its way shares that login's outcome (waiting
   * for it if need be) instead of starting another. A call begun during a
   * login that fails before it ends, such as the handler's own, is returned
   * as is: waiting for the login would wait for itself. A call whose
   * init.body is a ReadableStream cannot be sent twice: its 401 is returned
   * as is, without onLoginNeeded (a Request passed as input is cloned
   * first, so its body is sent again). The `expired` event fires as
   * without onLoginNeeded, before it is called.
   *
   * @param {RequestInfo|URL} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async fetch(input, init = {}) {
    const retryable = this.#onLoginNeeded !== undefined && !isStream(init.body);
    const again = retryable && input instanceof Request && input.body ? input.clone() : input;
    const before = this.#login; // the latest login when this call began
    const beganDuring = before?.running ?? false;
    const sent = this.#current();
    const res = await this.#send(input, init, sent);
    if (!retryable || res.status !== 401) return res;
    const body = await res.clone().json().catch(() => null);
    if (body?.error !== "session_expired" && body?.error !== "session_required") return res;

    let login = this.#login;
    // A login that began, or ended, since this call began decides for it.
    const since = login !== before || (beganDuring && !login.running);
    if (!since) {
      if (login?.running) return res; // begun during the login, perhaps by its handler
      login = this.#startLogin({ error: body.error, message: String(body.message ?? ""), response: res });
    }
    if (!(await login.promise)) return res;
    return this.#send(again, init, this.#current());
  }

  /**
   * Ends the session: forgets the token at once, then POSTs to closeURL so
   * the server destroys the session. Resolves when the server has; rejects
   * if it could not be reached or did not answer 2xx (the session then ends
   * at its expiry). Does nothing without a session.
   *
   * @returns {Promise<void>}
   */
  async closeSession() {
    const sent = this.#current();
    if (!sent) return;
    this.#end(sent);
    const doFetch = this.#fetch;
    const res = await doFetch(this.#closeURL, { method: "POST", headers: { "Session-Id": sent } });
    if (!res.ok) {
      throw new Error(`SessionClient.closeSession: POST ${this.#closeURL} answered ${res.status}`);
    }
  }

  /**
   * Sends one request with token ("" for none) and learns from its answer.
   * @param {RequestInfo|URL} input
   * @param {RequestInit} init
   * @param {string} token
   */
  async #send(input, init, token) {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set("Session-Id", token);
    const doFetch = this.#fetch;
    const res = await doFetch(input, { ...init, headers });
    await this.#learn(res, token);
    return res;
  }

  /**
   * Runs onLoginNeeded as the client's one login. A handler that throws
   * counts as one that did not log in; its error is reported like an
   * uncaught one, not thrown into every call that waited for it.
   * @param {{error: string, message: string, response: Response}} detail
   */
  #startLogin(detail) {
    const login = { running: true, promise: null };
    this.#login = login; // before the handler runs: its own calls see it
    login.promise = (async () => {
      try {
        return (await this.#onLoginNeeded(detail)) === true;
      } catch (err) {
        globalThis.reportError?.(err);
        return false;
      } finally {
        login.running = false;
      }
    })();
    return login;
  }

  // #current returns the live token, or "" after forgetting an expired one.
  #current() {
    if (this.#persist) this.#sync();
    if (this.#token && this.#clock.now() >= this.#expires) this.#end(this.#token, "timeout");
    return this.#token;
  }

  /**
   * Updates the session from the response to a request that sent the token
   * `sent` ("" for none).
   * @param {Response} res
   * @param {string} sent
   */
  async #learn(res, sent) {
    if (this.#persist) this.#sync();
    if (this.#token !== sent || res.type === "opaque" || res.type === "opaqueredirect") {
      return; // a newer answer (or another tab) moved the session on meanwhile
    }
    const id = res.headers.get("Session-Id"); // null: not said; "": gone
    const expires = Date.parse(res.headers.get("Session-Expires") ?? "");
    const token = id === null ? sent : id;
    if (token && !Number.isNaN(expires)) {
      const local = expires - this.#clockOffset(res);
      // A new token means the server just set the expiry: how long it gives
      // a session now, which bounds keepAlive's default lead.
      if (id) this.#span = local - this.#clock.now();
      this.#set(token, local);
      return;
    }
    if (!sent) return;
    if (res.status === 401) {
      const body = await res.clone().json().catch(() => ({}));
      if (body?.error === "session_expired") {
        this.#end(sent, "rejected", body.message);
        return;
      }
    }
    // An empty Session-Id is the server saying the token it got is of no
    // use. Any other answer without session headers (a route outside the
    // middleware, a failing store) says nothing about the session.
    if (id === "") this.#end(sent, "gone");
  }

  /**
   * Estimates how far the server's clock is ahead of this one from the Date
   * header (readable on same-origin responses, or when exposed), so that a
   * client whose clock is off neither drops a live session early nor keeps a
   * dead one. Date has whole seconds and the response took time to arrive:
   * changes under 2 s are noise and ignored, which also keeps the expiry
   * steady from one response to the next.
   * @param {Response} res
   */
  #clockOffset(res) {
    const offset = Date.parse(res.headers.get("Date") ?? "") - this.#clock.now();
    if (Math.abs(offset - this.#offset) > 2000) this.#offset = offset;
    return this.#offset;
  }

  /**
   * @param {string} token
   * @param {number} expires ms on this client's clock
   */
  #set(token, expires) {
    if (token === this.#token && expires === this.#expires) return;
    this.#token = token;
    this.#expires = expires;
    if (this.#persist) {
      const maxAge = Math.max(1, Math.ceil((expires - this.#clock.now()) / 1000));
      this.#writeCookie(`${expires}.${token}`, maxAge);
    }
    this.#schedule();
    this.dispatchEvent(new Event("change"));
  }

  /**
   * Forgets token if it is still the current one; with a reason it reports
   * the session as expired.
   * @param {string} token
   * @param {"timeout"|"gone"|"rejected"} [reason]
   * @param {string} [message]
   */
  #end(token, reason, message) {
    if (!token || token !== this.#token) return;
    this.#token = "";
    this.#expires = 0;
    if (this.#persist && this.#readCookie().token === token) this.#writeCookie("", 0);
    this.#schedule();
    this.dispatchEvent(new Event("change"));
    if (reason) this.dispatchEvent(new CustomEvent("expired", { detail: { reason, message } }));
  }

  // #sync adopts what the persistence cookie holds: another tab of the same
  // prefix may have started, renewed or closed the session.
  #sync() {
    const saved = this.#readCookie();
    if (saved.token === this.#token && saved.expires === this.#expires) return;
    if (!saved.token && this.#token && this.#clock.now() >= this.#expires) {
      return; // the browser dropped the cookie at expiry: #current reports it
    }
    this.#token = saved.token;
    this.#expires = saved.expires;
    this.#schedule();
    this.dispatchEvent(new Event("change"));
  }

  /**
   * Turns keepAlive on: user input and visibility changes may send a
   * keep-alive that is due, until the signal aborts.
   * @param {{url?: string|URL, idle?: number, before?: number, signal?: AbortSignal}} options
   */
  #startKeepAlive({ url = "/keepalive", idle = 5 * 60e3, before, signal }) {
    if (!(idle > 0) || (before !== undefined && !(before > 0))) {
      throw new RangeError("SessionClient: keepAlive.idle and keepAlive.before must be positive numbers of milliseconds");
    }
    if (signal?.aborted) return;
    this.#keepAlive = { url, idle, before: before ?? null };
    const stop = new AbortController();
    signal?.addEventListener("abort", () => stop.abort(), { once: true, signal: stop.signal });
    stop.signal.addEventListener("abort", () => {
      this.#keepAlive = null;
      this.#disarm();
    });
    const opts = { capture: true, passive: true, signal: stop.signal };
    for (const type of activityEvents) globalThis.addEventListener?.(type, this.#onActivity, opts);
    globalThis.document?.addEventListener("visibilitychange", this.#onVisibility, opts);
  }

  #onActivity = () => {
    this.#lastActive = this.#clock.now();
    if (this.#lastActive >= this.#renewAt) this.#tick();
  };

  #onVisibility = () => {
    if (this.#clock.now() >= this.#renewAt) this.#tick();
  };

  // #inUse reports whether the page is in use: visible, with user input
  // within the idle window.
  #inUse(now) {
    return globalThis.document?.visibilityState !== "hidden" && now - this.#lastActive <= this.#keepAlive.idle;
  }

  /**
   * Plans keepAlive's next step for the session the client now holds: a
   * keep-alive `before` its expiry, but never sooner than `before` after the
   * last one (so a server that does not move the expiry gets one, not a
   * stream), and a timer for the expiry itself. No session, no timer.
   */
  #schedule() {
    if (!this.#keepAlive) return;
    if (!this.#token) {
      this.#renewAt = Infinity;
      this.#disarm();
      return;
    }
    // A minute, or a quarter of the session's length when that is shorter,
    // so that the token has aged past the server's TouchInterval (by
    // default a twentieth of the length) when the keep-alive arrives. The
    // time left stands in for the length until a renewal tells it.
    const span = this.#span || this.#expires - this.#clock.now();
    const before = this.#keepAlive.before ?? Math.min(60e3, span / 4);
    const at = Math.max(this.#expires - before, this.#lastRenewal + before);
    this.#renewAt = at < this.#expires ? at : Infinity;
    this.#arm(Math.min(this.#renewAt, this.#expires));
  }

  /**
   * Runs keepAlive's timer. It returns the keep-alive's promise when it sends
   * one, so that a test's clock can wait for its answer.
   */
  #tick() {
    if (!this.#keepAlive || !this.#current()) return; // ended: #end cleared the timer
    const now = this.#clock.now();
    if (now < this.#renewAt) {
      this.#arm(Math.min(this.#renewAt, this.#expires)); // early: a delay past maxDelay
      return;
    }
    if (this.#inUse(now)) return this.#renew();
    // Idle or hidden: wait for the expiry; input before it may renew still.
    this.#arm(this.#expires);
  }

  // #renew sends a keep-alive. Its answer is handled as any other: a renewed
  // expiry plans the next one, a session that is gone ends with `expired`.
  // onLoginNeeded is not called: nobody is waiting for this call.
  async #renew() {
    const sent = this.#token;
    const { url } = this.#keepAlive;
    this.#lastRenewal = this.#clock.now();
    this.#renewAt = Infinity;
    this.#arm(this.#expires); // if no answer comes, the session still ends on time
    try {
      const doFetch = this.#fetch;
      const res = await doFetch(url, { method: "POST", headers: { "Session-Id": sent } });
      await this.#learn(res, sent);
    } catch {
      // Unreachable: the session lasts until its expiry, and input within
      // `before` of it cannot send another keep-alive (see #schedule).
    }
    this.#schedule();
  }

  // #arm sets the timer for the instant at, replacing any other.
  #arm(at) {
    this.#disarm();
    const delay = Math.min(Math.max(0, at - this.#clock.now()), maxDelay);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      return this.#tick();
    }, delay);
  }

  #disarm() {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #readCookie() {
    for (const part of document.cookie.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq).trim() !== this.#cookie) continue;
      let v;
      try {
        v = decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        continue; // not ours to read (a malformed value): as if absent
      }
      const dot = v.indexOf(".");
      const expires = Number(v.slice(0, dot));
      if (dot > 0 && expires > 0) return { token: v.slice(dot + 1), expires };
    }
    return { token: "", expires: 0 };
  }

  /**
   * @param {string} value
   * @param {number} maxAge seconds; 0 deletes the cookie
   */
  #writeCookie(value, maxAge) {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${this.#cookie}=${encodeURIComponent(value)}; Path=${this.#cookiePath}; Max-Age=${maxAge}; SameSite=Strict${secure}`;
  }
}

// isStream reports whether a request body can be read only once.
function isStream(body) {
  return typeof ReadableStream !== "undefined" && body instanceof ReadableStream;
}
