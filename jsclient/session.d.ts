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
  /** The fetch to use, called as a plain function. Default: the global fetch. */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
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
  /** The session ended without closeSession. */
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

  /** fetch with the session; the response body is left unread. */
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
