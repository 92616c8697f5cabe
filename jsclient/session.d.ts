// Types for session.js, the browser client of github.com/seed58a3dad2/session.

/** Options of a SessionClient; every field has a default. */
export interface SessionClientOptions {
  /**
   * Keep the token in a cookie that expires with the session, so that a page
   * reload keeps the session. Default: false (the token lives in the object).
   */
  persist?: boolean;
  /**
   * Put before cookieName: "chat_" gives the cookie "chat_sessionid". Two
   * clients with different prefixes keep two separate sessions. Default: "".
   */
  prefix?: string;
  /**
   * The persistence cookie's name after the prefix; it must differ from the
   * server's own session cookie ("session" by default). Default: "sessionid".
   */
  cookieName?: string;
  /** The persistence cookie's Path. Default: "/". */
  cookiePath?: string;
  /** Where the server mounts Manager.CloseHandler. Default: "/logout". */
  closeURL?: string | URL;
  /**
   * Renew the session while the page is in use; true for the defaults.
   * Default: false (the session lives as long as the calls made through
   * the client keep it alive).
   */
  keepAlive?: boolean | KeepAliveOptions;
  /**
   * Called when a call made through fetch answers 401 session_expired or
   * session_required. Resolve true once logged in (through this client, so
   * that it holds the new session): the call is then sent once more, and
   * that answer returned. Resolve false, or throw (the error is reported as
   * uncaught), to have the 401 returned. Concurrent failing calls share one
   * call of it. Default: none, a 401 is returned as is.
   */
  onLoginNeeded?: (detail: LoginNeededDetail) => boolean | Promise<boolean>;
  /** The fetch to use, called as a plain function. Default: the global fetch. */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /**
   * Where time comes from, for the expiry and keepAlive's timers: tests pass
   * a clock they move. Default: Date.now and the global timers.
   */
  clock?: SessionClock;
}

/**
 * The keep-alive: shortly before the session expires, if the page is
 * visible and the user gave input (pointer, key, wheel, scroll, touch)
 * within `idle`, the client POSTs to `url`; if not, the session is left to
 * expire, and the "expired" event fires when it does (input before then
 * still renews it). It never starts a session, and runs no timer while
 * there is none. The server must renew on that request: its token must be
 * older than Config.TouchInterval by then, which the default `before`
 * makes sure of for any TouchInterval up to three quarters of IdleTimeout.
 * onLoginNeeded is not called for it.
 */
export interface KeepAliveOptions {
  /** Where the server mounts Manager.KeepAliveHandler. Default: "/keepalive". */
  url?: string | URL;
  /** How long without input the page counts as idle, in ms. Default: 5 minutes. */
  idle?: number;
  /**
   * How long before the expiry to renew, in ms, and the least time between
   * two keep-alives. Default: a minute, or a quarter of the session's length
   * when that is shorter.
   */
  before?: number;
  /** Stops the keep-alive for good: its timers and listeners go. */
  signal?: AbortSignal;
}

/** What onLoginNeeded is told. */
export interface LoginNeededDetail {
  /** The server's error code. */
  error: "session_expired" | "session_required";
  /** The server's message. */
  message: string;
  /** The 401 answer; its url says which call it was. */
  response: Response;
}

/**
 * A clock. A timer callback returns a promise while the keep-alive it sent
 * is on its way: a test's clock may await it before moving on.
 */
export interface SessionClock {
  /** The time in ms since the epoch, like Date.now. */
  now(): number;
  setTimeout(fn: () => unknown, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Why a session ended without closeSession. */
export type SessionExpiredReason =
  /** Its expiry passed on this client's clock. */
  | "timeout"
  /** The server answered the token with an empty Session-Id: it no longer knows it. */
  | "gone"
  /** A route that requires a session answered 401 session_expired. */
  | "rejected";

/** The detail of the "expired" event. */
export interface SessionExpiredDetail {
  reason: SessionExpiredReason;
  /** The server's message, with reason "rejected". */
  message?: string;
}

/** The events a SessionClient dispatches. */
export interface SessionClientEventMap {
  /** The token or the expiry changed. */
  change: Event;
  /**
   * The session ended without closeSession: with keepAlive at its expiry,
   * otherwise at the first use of the client after it.
   */
  expired: CustomEvent<SessionExpiredDetail>;
}

/**
 * Keeps one server-side session for the fetch calls made through it: sends
 * the token in the Session-Id header, learns renewals and expiry from every
 * response, and forgets the token once the session is over.
 */
export declare class SessionClient extends EventTarget {
  constructor(options?: SessionClientOptions);

  /** The token, or null when there is no live session. */
  readonly token: string | null;
  /** When the session expires (on this client's clock), or null. */
  readonly expires: Date | null;
  /** The persistence cookie's full name: prefix + cookieName. */
  readonly cookieName: string;

  /**
   * fetch with the session; the response body is left unread. With
   * onLoginNeeded, a 401 session_expired or session_required may be
   * retried once after a login. Not retried: a call whose init.body is a
   * ReadableStream (it cannot be sent twice), and a call begun during a
   * login that fails before the login ends (it may be the login's own).
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;

  /**
   * Forgets the token at once and POSTs to closeURL. Rejects if the server
   * could not be reached or did not answer 2xx. Does nothing without a session.
   */
  closeSession(): Promise<void>;

  addEventListener<K extends keyof SessionClientEventMap>(
    type: K,
    listener: (this: SessionClient, ev: SessionClientEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof SessionClientEventMap>(
    type: K,
    listener: (this: SessionClient, ev: SessionClientEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}
