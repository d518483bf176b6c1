// fake-server.mjs: an in-memory Tagarela server and WebSocket for the library's Node tests, scripted turn by turn.
// It keeps per-chat seq and client_msg_id idempotency as PROTOCOL.md 2.3 says; tests decide when answers and events arrive.

export const tick = (ms = 0) => new Promise(r => setTimeout(r, ms));

/** Waits until `f()` is truthy (bounded: 2 s), for asynchronous steps of the library. */
export async function until(f, what) {
  for (let i = 0; i < 400; i++) { if (f()) return; await tick(5); }
  throw new Error("timeout waiting for " + what);
}

export class FakeServer {
  constructor() {
    this.sockets = [];
    this.chats = new Map(); // id -> {member_ids, messages: []}
    this.hold = null;       // when set, requests of these types are kept in `held` instead of answered
    this.held = [];
    this.refuse = null;     // (ws, req) -> an error response or null
    this.requests = [];
    const server = this;
    this.WebSocket = class FakeWS {
      constructor(url) { this.url = url; this.readyState = 0; server.sockets.push(this); if (server.autoOpen) setTimeout(() => this.accept(), 0); }
      send(text) { server._receive(this, JSON.parse(text)); }
      close() { if (this.readyState === 3) return; this.readyState = 3; setTimeout(() => this.onclose && this.onclose({}), 0); }
      accept() { if (this.readyState !== 0) return; this.readyState = 1; this.onopen && this.onopen(); }
      push(obj) { if (this.readyState === 1) this.onmessage({ data: JSON.stringify(obj) }); }
    };
    this.autoOpen = true;
  }

  get ws() { return this.sockets[this.sockets.length - 1]; }

  addChat(id, members) { this.chats.set(id, { member_ids: members, messages: [] }); }

  /** Stores a message as the server would (next seq) and returns it; no event is sent. */
  store(chatId, sender, content, clientMsgId) {
    const chat = this.chats.get(chatId);
    if (clientMsgId) {
      const old = chat.messages.find(m => m.sender_id === sender && m.client_msg_id === clientMsgId);
      if (old) return old;
    }
    const m = { id: chatId + "/" + (chat.messages.length + 1), chat_id: chatId, seq: chat.messages.length + 1,
      sender_id: sender, content, timestamp: Date.now(), client_msg_id: clientMsgId || null };
    chat.messages.push(m);
    return m;
  }

  /** Pushes message:new for `m` to the newest socket. */
  live(m) { this.ws.push({ type: "message:new", payload: m }); }

  /** Answers a held request now. */
  release(pred = () => true) {
    const i = this.held.findIndex(([, r]) => pred(r));
    if (i < 0) throw new Error("no held request matches");
    const [ws, req] = this.held.splice(i, 1)[0];
    ws.push(this.answer(ws, req));
  }

  _receive(ws, req) {
    this.requests.push(req);
    if (this.hold && this.hold.includes(req.type)) { this.held.push([ws, req]); return; }
    setTimeout(() => ws.push(this.answer(ws, req)), 0);
  }

  answer(ws, req) {
    const base = { type: req.type, request_id: req.request_id };
    const refused = this.refuse && this.refuse(ws, req);
    if (refused) return { ...base, status: "error", ...refused };
    const user = { id: "ana", username: "ana", display_name: "ana", created_at: 1 };
    switch (req.type) {
      case "login": return { ...base, status: "ok", token: "ana.tok", user };
      case "auth": return req.token === "ana.tok" ? { ...base, status: "ok", user }
        : { ...base, status: "error", code: "bad_credentials" };
      case "get_user_chats": {
        const chats = [...this.chats].map(([id, c]) => ({ id, kind: "group", name: id, member_ids: c.member_ids,
          created_at: 1, last_message: c.messages[c.messages.length - 1] || null, unread_count: 0 }));
        return { ...base, status: "ok", chats, has_more: false, next_cursor: null };
      }
      case "get_messages": {
        if (req.before_seq !== undefined) { // the `limit` messages just before it; has_more: older ones exist
          const older = this.chats.get(req.chat_id).messages.filter(m => m.seq < req.before_seq);
          const page = older.slice(Math.max(0, older.length - (req.limit || 50)));
          return { ...base, status: "ok", messages: page, has_more: older.length > page.length };
        }
        const all = this.chats.get(req.chat_id).messages.filter(m => m.seq > (req.after_seq || 0));
        const page = all.slice(0, req.limit || 50);
        return { ...base, status: "ok", messages: page, has_more: all.length > page.length };
      }
      case "message": return { ...base, status: "ok", message: this.store(req.chat_id, "ana", req.content, req.client_msg_id) };
      default: return { ...base, status: "ok" };
    }
  }
}
