// session.js: the browser client of github.com/seed58a3dad2/session.
// An ES module with no dependencies and no build step; the Go package serves
// it (session.ScriptHandler). Types are in session.d.ts beside it.

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
 *     const chat = new SessionClient({ persist: true, prefix: "chat_", closeURL: "/api/logout" });
 *     chat.addEventListener("expired", (e) => showLogin(e.detail.reason));
 *     const res = await chat.fetch("/api/counter", { method: "POST" });
 *     await chat.closeSession(); // log out
 *
 * Events: `change` whenever the token or the expiry changes, and `expired`
 * (a CustomEvent whose detail is `{reason, message}`) when the session ended
 * without closeSession: reason `"timeout"` (its expiry passed), `"gone"` (the
 * server no longer knows it) or `"rejected"` (a route that requires a
 * session answered 401 session_expired; message is the server's).
 */
export class SessionClient extends EventTarget {
  #token = ""; // "" while there is no session
  #expires = 0; // when the session expires, in ms on this client's clock
  #offset = 0; // how far the server's clock is ahead of this one, in ms
  #persist;
  #cookie; // the persistence cookie's full name
  #cookiePath;
  #closeURL;
  #fetch;

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
   * @param {typeof fetch} [options.fetch] The fetch to use, called as a plain
   *   function. Default: the global fetch.
   */
  constructor({
    persist = false,
    prefix = "",
    cookieName = "sessionid",
    cookiePath = "/",
    closeURL = "/logout",
    fetch = (input, init) => globalThis.fetch(input, init),
  } = {}) {
    super();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(prefix + cookieName)) {
      throw new TypeError(`SessionClient: "${prefix}${cookieName}" is not a valid cookie name`);
    }
    this.#persist = persist;
    this.#cookie = prefix + cookieName;
    this.#cookiePath = cookiePath;
    this.#closeURL = closeURL;
    this.#fetch = fetch;
    if (persist) this.#sync();
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
   * @param {RequestInfo|URL} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async fetch(input, init = {}) {
    const sent = this.#current();
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set("Session-Id", sent);
    const doFetch = this.#fetch;
    const res = await doFetch(input, { ...init, headers });
    await this.#learn(res, sent);
    return res;
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

  // #current returns the live token, or "" after forgetting an expired one.
  #current() {
    if (this.#persist) this.#sync();
    if (this.#token && Date.now() >= this.#expires) this.#end(this.#token, "timeout");
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
      this.#set(token, expires - this.#clockOffset(res));
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
    const offset = Date.parse(res.headers.get("Date") ?? "") - Date.now();
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
      const maxAge = Math.max(1, Math.ceil((expires - Date.now()) / 1000));
      this.#writeCookie(`${expires}.${token}`, maxAge);
    }
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
    this.dispatchEvent(new Event("change"));
    if (reason) this.dispatchEvent(new CustomEvent("expired", { detail: { reason, message } }));
  }

  // #sync adopts what the persistence cookie holds: another tab of the same
  // prefix may have started, renewed or closed the session.
  #sync() {
    const saved = this.#readCookie();
    if (saved.token === this.#token && saved.expires === this.#expires) return;
    if (!saved.token && this.#token && Date.now() >= this.#expires) {
      return; // the browser dropped the cookie at expiry: #current reports it
    }
    this.#token = saved.token;
    this.#expires = saved.expires;
    this.dispatchEvent(new Event("change"));
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
