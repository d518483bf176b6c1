// tagarela.js: the Tagarela client library (an ES module, no dependencies): reconnects, catches up, delivers each message once, in order.
// Served by the gateway at GET /tagarela.js (embedded at build time by Web/embed; a test fails when the copy differs).
// Usable in browsers and in Node with a global WebSocket (or options.WebSocket). The API is in README.md, "JavaScript client".

const DEFAULTS = {
  minDelayMs: 500,         // first reconnection wait and the floor of every wait (full jitter above it)
  maxDelayMs: 30000,       // the longest wait between reconnection attempts
  requestTimeoutMs: 15000, // past the gateway's own 10 s deadline: a request still unanswered means a dead link
  pageSize: 200,           // get_messages' largest page (PROTOCOL.md 2.3): catch-up in as few requests as it can
  chatPageSize: 50,        // get_user_chats' largest page (PROTOCOL.md 2.2)
  rateLimitRetries: 5,     // a request answered rate_limited is sent again after retry_after_ms this often
  WebSocket: null,         // the constructor; globalThis.WebSocket when absent
};

// Answers that say nothing was refused for good: a message send is tried again with the same client_msg_id.
const TRANSIENT = new Set(["unavailable", "timeout", "rate_limited", "disconnected"]);
// Answers to auth/login that no retry can change: stop reconnecting.
const FINAL_AUTH = new Set(["bad_credentials", "unauthenticated", "forbidden", "bad_request"]);

// The sender chooses an attachment's type: a text/html or image/svg+xml Blob opened in a tab would run
// its scripts in this origin, by the session's token. Only these raster types keep theirs.
const INLINE_IMAGE = /^image\/(png|jpeg|gif|webp|avif|bmp)$/;

/** True when an attachment of `mime` may be shown inline (`fetchAttachment` keeps its type). */
export const isInlineImage = mime => INLINE_IMAGE.test(mime);

/** A refused request: `code` is the server's error code, or "timeout"/"disconnected"/"session_ended"/"closed". */
export class TagarelaError extends Error {
  constructor(code, response) {
    super(response && response.message ? code + ": " + response.message : code);
    this.code = code;
    this.response = response || null;
  }
}

/** Per-chat delivery order, without I/O: which messages may be emitted now so that each chat's
 *  `message:new` events come exactly once and in `seq` order (seq grows by 1, PROTOCOL.md 2.3). */
export class ChatOrder {
  constructor() { this.chats = new Map(); } // chat id -> {last: last seq emitted, held: Map seq -> message, catching}
  state(id) { return this.chats.get(id); }
  ids() { return [...this.chats.keys()]; }
  forget(id) { this.chats.delete(id); }
  last(id) { const c = this.chats.get(id); return c ? c.last : undefined; }
  /** The chat holds messages up to `seq` (a chat list, a chat event): a new chat starts there;
   *  returns true when a known chat has messages past what was emitted (catch up). */
  know(id, seq) {
    const c = this.chats.get(id);
    if (!c) { this.chats.set(id, { last: seq, held: new Map(), catching: false }); return false; }
    return seq > c.last || c.held.size > 0;
  }
  /** A message seen live or in a send's answer: returns {emit, gap}; `gap` asks for a catch-up. */
  offer(m) {
    let c = this.chats.get(m.chat_id);
    // A chat first heard of by a message starts just before it: what came earlier is history.
    if (!c) { c = { last: m.seq - 1, held: new Map(), catching: false }; this.chats.set(m.chat_id, c); }
    if (m.seq <= c.last) return { emit: [], gap: false };
    c.held.set(m.seq, m);
    if (c.catching) return { emit: [], gap: false }; // the catch-up in progress emits it in its turn
    const emit = drain(c);
    return { emit, gap: c.held.size > 0 };
  }
  /** A get_messages page (ascending seq, after `last`): returns the messages to emit now. */
  page(id, messages) {
    const c = this.chats.get(id);
    if (!c) return [];
    for (const m of messages) if (m.seq > c.last) c.held.set(m.seq, m);
    return drain(c);
  }
}

function drain(c) {
  const out = [];
  while (c.held.has(c.last + 1)) { out.push(c.held.get(c.last + 1)); c.held.delete(c.last + 1); c.last += 1; }
  for (const s of c.held.keys()) if (s <= c.last) c.held.delete(s);
  return out;
}

const sleep = ms => new Promise(r => setTimeout(r, ms));
const randomID = () => Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10) + Math.random().toString(36).slice(2, 10);
const chatSeq = chat => (chat.last_message ? chat.last_message.seq : 0);

/** One user's connection to Tagarela, kept up until close() or the session ends. */
export class Tagarela {
  /** Opens `url` (ws://host:port/ws), logs in with {username, password} or authenticates with {token}. */
  static async connect(url, credentials, options = {}) {
    const t = new Tagarela(url, credentials, options);
    await t._first;
    setTimeout(() => t._flushEarly(), 0); // events seen while connecting reach handlers added after the await
    return t;
  }

  /** Registers an account on a connection of its own (then connect with the same credentials). */
  static async register(url, fields, options = {}) {
    const WS = options.WebSocket || globalThis.WebSocket;
    const ws = new WS(url);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { ws.close(); reject(new TagarelaError("timeout")); }, options.requestTimeoutMs || DEFAULTS.requestTimeoutMs);
      ws.onopen = () => ws.send(JSON.stringify({ ...fields, type: "register", request_id: "register" }));
      ws.onmessage = e => {
        const r = JSON.parse(e.data);
        if (r.request_id !== "register") return;
        clearTimeout(timer); ws.close();
        r.status === "ok" ? resolve(r.user) : reject(new TagarelaError(r.code, r));
      };
      ws.onclose = () => { clearTimeout(timer); reject(new TagarelaError("disconnected")); };
    });
  }

  /** Reads a File or Blob into the `attachment` field `send` takes: {name, mime, data (base64)}. */
  static async attachmentFrom(blob, name) {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return { name: name || blob.name || "file", mime: blob.type || "application/octet-stream", data: btoa(text) };
  }

  constructor(url, credentials, options) {
    this.url = url;
    this.o = { ...DEFAULTS, ...options };
    this.WS = this.o.WebSocket || globalThis.WebSocket;
    this.token = credentials.token || null;
    this._password = credentials.token ? null : { username: credentials.username, password: credentials.password };
    this.user = null;
    this.state = "connecting";
    this.order = new ChatOrder();
    this._handlers = new Map();
    this._inflight = new Map(); // request_id -> job
    this._waiting = [];         // jobs waiting to be online
    this._outbox = [];          // sends not yet acknowledged, in order
    this._older = new Map();    // loadOlder's requests still out, by [chat, before_seq, limit]
    this._nextID = 0;
    this._attempt = 0;
    this._early = [];           // events held until connect() has returned
    this._ended = false;
    this._reachable = false;    // the server answered a first authentication with a transient error
    this._first = new Promise((resolve, reject) => { this._firstSettle = { resolve, reject }; });
    this._watchNetwork();
    this._open();
  }

  /** Adds `fn` for an event type: any server event ("message:new", "chat:new", ...), "statechange", "catchup". */
  on(type, fn) { if (!this._handlers.has(type)) this._handlers.set(type, new Set()); this._handlers.get(type).add(fn); return this; }
  off(type, fn) { const s = this._handlers.get(type); if (s) s.delete(fn); return this; }
  /** The WebSocket extensions the server accepted (e.g. "permessage-deflate"), "" when none or offline. */
  get extensions() { return (this.ws && this.ws.extensions) || ""; }
  /** Sends not yet acknowledged by the server. */
  get pending() { return this._outbox.length; }

  /** Sends a request; resolves with the response, rejects with a TagarelaError carrying its code.
   *  Waits while offline; `rate_limited` answers are retried after `retry_after_ms`. */
  request(type, fields = {}, opts = {}) {
    if (this._ended) return Promise.reject(new TagarelaError("closed"));
    return new Promise((resolve, reject) => {
      const job = { type, fields, resolve, reject, tries: 0, early: !!opts.early, ws: null };
      job.timer = setTimeout(() => {
        job.done = true;
        this._unqueue(job);
        reject(new TagarelaError("timeout"));
        // An answer owed this long (past the gateway's own deadline) means the link is dead: reconnect.
        if (job.ws && job.ws === this.ws && this.state === "online") this.ws.close();
      }, opts.timeoutMs || this.o.requestTimeoutMs);
      this._dispatch(job);
    });
  }

  /** Sends a message with a client_msg_id of its own; offline it waits in an outbox, and it is sent
   *  again with the same id until acknowledged (so never stored twice). Resolves with the stored message. */
  send(chatId, content, opts = {}) {
    if (this._ended) return Promise.reject(new TagarelaError("closed"));
    const fields = { chat_id: chatId, content, client_msg_id: opts.clientMsgId || randomID() };
    if (opts.attachment) fields.attachment = opts.attachment;
    return new Promise((resolve, reject) => {
      this._outbox.push({ fields, resolve, reject, tries: 0 });
      this._pump();
    });
  }

  /** Scroll-back: the `limit` messages (at most pageSize) just before `beforeSeq` in a chat, as
   *  {messages (ascending seq), hasMore (older ones exist)}. History is not news: nothing is emitted
   *  and the delivery order is left alone, so message:new still brings each message once. A call
   *  while the same one is out gets its promise: a page scrolled to its top never asks twice at once. */
  loadOlder(chatId, beforeSeq, limit = 50) {
    if (!(beforeSeq > 1)) return Promise.resolve({ messages: [], hasMore: false }); // seq starts at 1 (PROTOCOL.md 2.3)
    const n = Math.max(1, Math.min(this.o.pageSize, limit | 0)), key = JSON.stringify([chatId, beforeSeq, n]);
    if (!this._older.has(key)) {
      // mark_read false: reading back moves no read marker (PROTOCOL.md 2.3 would move it to the page's newest).
      const p = this.request("get_messages", { chat_id: chatId, before_seq: beforeSeq, limit: n, mark_read: false })
        .then(r => ({ messages: r.messages || [], hasMore: !!r.has_more }))
        .finally(() => this._older.delete(key));
      this._older.set(key, p);
    }
    return this._older.get(key);
  }

  /** An attachment's bytes as a Blob, from GET /attachments/<chat>/<id> with the session's token;
   *  typed application/octet-stream unless `isInlineImage` (see INLINE_IMAGE for why). */
  async fetchAttachment(chatId, attachmentId) {
    const base = this.url.replace(/^ws/, "http").replace(/^(https?:\/\/[^/]+).*$/, "$1");
    const r = await fetch(base + "/attachments/" + chatId + "/" + attachmentId, { headers: { Authorization: "Bearer " + this.token } });
    if (!r.ok) throw new TagarelaError(r.status === 404 ? "not_found" : r.status === 403 ? "forbidden" : "unavailable");
    const blob = await r.blob();
    return isInlineImage(blob.type) ? blob : new Blob([blob], { type: "application/octet-stream" });
  }

  /** Closes the connection for good; pending sends and requests are rejected with "closed". */
  close() { this._end("closed", null); }

  // --- connection ---

  _open() {
    this._setState("connecting");
    let ws;
    try { ws = new this.WS(this.url); } catch (e) { this._lost(null); return; }
    this.ws = ws;
    ws.onopen = () => this._authenticate(ws);
    ws.onmessage = e => this._frame(ws, e.data);
    ws.onclose = () => this._lost(ws);
    ws.onerror = () => {}; // a close follows
  }

  async _authenticate(ws) {
    let r;
    try {
      if (this.token) r = await this.request("auth", { token: this.token }, { early: true });
      else r = await this.request("login", this._password, { early: true });
    } catch (e) {
      if (ws !== this.ws) return;
      // A refused first login rejects connect() with the server's code; a refused token later ends the session.
      if (FINAL_AUTH.has(e.code)) { this.user ? this._end("session_ended", { reason: e.code }) : this._end(e.code, e.response); return; }
      // A server that answered but could not authenticate yet (its worker restarting) is tried again
      // with back-off, the first time too: only one that cannot be reached at all rejects connect().
      if (TRANSIENT.has(e.code)) this._reachable = true;
      ws.close();
      return;
    }
    if (ws !== this.ws) return;
    this._password = null; // the token does every later authentication
    this.user = r.user;
    this._attempt = 0;
    this._setState("online");
    for (const job of this._waiting.splice(0)) this._dispatch(job);
    this._pump();
    this._firstSettle.resolve();
    this._resync();
  }

  /** In a browser, the network going away (the `offline` event) drops the socket at once rather than
   *  when TCP notices, and its return (`online`) reconnects at once rather than after the back-off. */
  _watchNetwork() {
    const w = globalThis.window;
    if (!w || typeof w.addEventListener !== "function" || typeof navigator === "undefined") return;
    this._onOffline = () => { const ws = this.ws; if (ws) { ws.close(); this._lost(ws); } };
    this._onOnline = () => {
      if (this._ended || this.state !== "offline") return;
      clearTimeout(this._retry); this._attempt = 0; this._open();
    };
    w.addEventListener("offline", this._onOffline);
    w.addEventListener("online", this._onOnline);
  }

  _lost(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    for (const job of this._inflight.values()) { clearTimeout(job.timer); job.reject(new TagarelaError("disconnected")); }
    this._inflight.clear();
    if (this._ended) return;
    if (!this.user && !this._reachable) { this._end("disconnected", null); return; } // connect() never got online: it rejects
    this._setState("offline");
    const cap = Math.min(this.o.maxDelayMs, this.o.minDelayMs * 2 ** this._attempt);
    this._attempt = Math.min(this._attempt + 1, 30);
    const wait = this.o.minDelayMs + Math.random() * Math.max(0, cap - this.o.minDelayMs);
    // While the browser knows it is offline, its `online` event does the reconnecting.
    this._retry = setTimeout(() => { if (globalThis.navigator?.onLine !== false || !this._onOnline) this._open(); }, wait);
  }

  _end(code, payload) {
    if (this._ended) return;
    this._ended = true;
    clearTimeout(this._retry);
    const err = new TagarelaError(code, payload);
    for (const job of [...this._waiting.splice(0), ...this._inflight.values()]) { clearTimeout(job.timer); job.reject(err); }
    this._inflight.clear();
    for (const e of this._outbox.splice(0)) e.reject(err);
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(); }
    this._firstSettle.reject(err);
    if (this._onOffline) { globalThis.window.removeEventListener("offline", this._onOffline); globalThis.window.removeEventListener("online", this._onOnline); }
    if (code === "session_ended") this._emit("session:ended", payload || {});
    this._setState("closed");
  }

  _setState(s) { if (this.state !== s) { this.state = s; this._emit("statechange", s); } }

  // --- requests ---

  _dispatch(job) {
    if (this.state !== "online" && !(job.early && this.ws && this.ws.readyState === 1)) { this._waiting.push(job); return; }
    const id = "t" + ++this._nextID;
    job.ws = this.ws;
    this._inflight.set(id, job);
    this.ws.send(JSON.stringify({ ...job.fields, type: job.type, request_id: id }));
  }

  _unqueue(job) {
    const i = this._waiting.indexOf(job);
    if (i >= 0) this._waiting.splice(i, 1);
    for (const [id, j] of this._inflight) if (j === job) this._inflight.delete(id);
  }

  _answer(job, r) {
    if (r.status === "ok") {
      clearTimeout(job.timer);
      if (r.token) this.token = r.token; // login, change_password: the new session
      if (r.chat) this._know(r.chat);
      if (Array.isArray(r.chats)) r.chats.forEach(c => this._know(c));
      job.resolve(r);
    } else if (r.code === "rate_limited" && job.tries < this.o.rateLimitRetries) {
      job.tries += 1;
      setTimeout(() => { if (!this._ended && !job.done) this._dispatch(job); }, r.retry_after_ms || this.o.minDelayMs);
    } else {
      clearTimeout(job.timer);
      job.reject(new TagarelaError(r.code || "internal", r));
      if (r.code === "unavailable") this._scheduleResync(); // a shard came back: events it owed may be lost
    }
  }

  // --- the outbox ---

  async _pump() {
    if (this._pumping) return;
    this._pumping = true;
    try {
      while (this._outbox.length && this.state === "online") {
        const e = this._outbox[0];
        let r;
        try {
          r = await this.request("message", e.fields);
        } catch (err) {
          if (!TRANSIENT.has(err.code)) { this._outbox.shift(); e.reject(err); continue; }
          if (err.code !== "disconnected") await sleep(this.o.minDelayMs * Math.min(2 ** e.tries++, 16));
          continue; // the same client_msg_id again: stored at most once (PROTOCOL.md 2.3)
        }
        this._outbox.shift();
        this._ingest(r.message);
        e.resolve(r.message);
      }
    } finally {
      this._pumping = false;
    }
  }

  // --- events and ordering ---

  _frame(ws, data) {
    if (ws !== this.ws) return;
    let m;
    try { m = JSON.parse(data); } catch (e) { return; }
    const job = m.request_id !== undefined && this._inflight.get(m.request_id);
    if (job) { this._inflight.delete(m.request_id); this._answer(job, m); return; }
    if (typeof m.type !== "string" || !m.type.includes(":")) return;
    const p = m.payload || {};
    if (m.type === "message:new") { this._ingest(p); return; }
    if (m.type === "session:ended") {
      // "unverified": the server could not check the session just authenticated (its shard out of
      // reach): the token may be good, so reconnect and authenticate with it, as after a lost socket.
      if (p.reason === "unverified") { ws.close(); this._lost(ws); return; }
      this._end("session_ended", p);
      return;
    }
    if (m.type === "chat:new" || m.type === "chat:updated") {
      if (this.user && Array.isArray(p.member_ids) && !p.member_ids.includes(this.user.id)) this.order.forget(p.id);
      else this._know(p);
    }
    this._emit(m.type, p);
  }

  _ingest(m) {
    const { emit, gap } = this.order.offer(m);
    for (const x of emit) this._emit("message:new", x);
    if (gap) this._catchUp(m.chat_id);
  }

  _know(chat) { if (this.order.know(chat.id, chatSeq(chat))) this._catchUp(chat.id); }

  /** Fetches what a chat missed after the last seq emitted, page by page, and emits it in order
   *  (live messages arriving meanwhile are held and emitted in their turn). */
  async _catchUp(id) {
    const c = this.order.state(id);
    if (!c || c.catching) return;
    c.catching = true;
    let count = 0, failed = null;
    try {
      for (;;) {
        const before = c.last;
        const r = await this.request("get_messages", { chat_id: id, after_seq: c.last, limit: this.o.pageSize, mark_read: false });
        const out = this.order.page(id, r.messages || []);
        count += out.length;
        for (const m of out) this._emit("message:new", m);
        if (!r.has_more && (c.held.size === 0 || c.last === before)) break;
      }
    } catch (e) {
      failed = e;
      if (e.code === "forbidden" || e.code === "not_found") this.order.forget(id);
      else if (TRANSIENT.has(e.code) && e.code !== "disconnected") this._scheduleResync(); // a reconnection resyncs by itself
    } finally {
      c.catching = false;
    }
    if (!failed) for (const m of drain(c)) { count += 1; this._emit("message:new", m); }
    this._emit("catchup", { chat_id: id, count, error: failed ? failed.code : null });
  }

  /** After (re)authenticating: learns every chat (get_user_chats, paging) and catches up each one
   *  with messages past the last seq emitted; chats seen before but not listed are caught up too. */
  async _resync() {
    const listed = new Set();
    try {
      let cursor = null;
      do {
        const r = await this.request("get_user_chats", cursor ? { limit: this.o.chatPageSize, cursor } : { limit: this.o.chatPageSize });
        r.chats.forEach(ch => listed.add(ch.id)); // _answer has already called _know for each
        cursor = r.has_more ? r.next_cursor : null;
      } while (cursor);
    } catch (e) {
      if (TRANSIENT.has(e.code) && e.code !== "disconnected") this._scheduleResync(); // else the next authentication resyncs
      return;
    }
    for (const id of this.order.ids()) if (!listed.has(id)) this._catchUp(id);
  }

  _scheduleResync() {
    if (this._resyncTimer || this._ended) return;
    this._resyncTimer = setTimeout(() => { this._resyncTimer = null; if (this.state === "online") this._resync(); }, this.o.minDelayMs * 2);
  }

  _emit(type, payload) {
    if (!this._ready && type !== "statechange") { this._early.push([type, payload]); return; }
    const s = this._handlers.get(type);
    if (s) for (const fn of [...s]) { try { fn(payload); } catch (e) { setTimeout(() => { throw e; }, 0); } }
  }

  _flushEarly() { this._ready = true; for (const [type, p] of this._early.splice(0)) this._emit(type, p); }
}

export default Tagarela;
