// tagarela.test.mjs: the library's ordering, deduplication, reconnection and outbox logic under scripted interleavings (node --test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tagarela, ChatOrder, TagarelaError, isInlineImage } from "../../Web/tagarela.js";
import { FakeServer, tick, until } from "./fake-server.mjs";

const fast = { minDelayMs: 5, maxDelayMs: 20, requestTimeoutMs: 2000, pageSize: 3 };

async function client(server, extra = {}) {
  const t = await Tagarela.connect("ws://test/ws", { username: "ana", password: "password1" },
    { ...fast, ...extra, WebSocket: server.WebSocket });
  const seen = [];
  t.on("message:new", m => seen.push(m.chat_id + "#" + m.seq));
  await tick(1);
  return { t, seen };
}

const seqs = (seen, chat) => seen.filter(s => s.startsWith(chat + "#")).map(s => +s.split("#")[1]);

test("ChatOrder emits every seq once, in order, for any interleaving of live messages and pages", () => {
  let rnd = 42;
  const random = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let round = 0; round < 300; round++) {
    const o = new ChatOrder();
    o.know("c", 0);
    const n = 1 + Math.floor(random() * 30);
    const out = [];
    // Live copies (some lost, some duplicated, reordered a little) and catch-up pages interleave.
    const live = [];
    for (let s = 1; s <= n; s++) { if (random() > 0.3) live.push(s); if (random() > 0.8) live.push(s); }
    for (let i = 0; i < live.length; i++) if (random() > 0.7 && i + 1 < live.length) [live[i], live[i + 1]] = [live[i + 1], live[i]];
    while (o.last("c") < n) {
      if (live.length && random() > 0.3) {
        const s = live.shift();
        out.push(...o.offer({ chat_id: "c", seq: s }).emit.map(m => m.seq));
      } else {
        const from = o.last("c"), size = 1 + Math.floor(random() * 5), page = [];
        for (let s = from + 1; s <= Math.min(n, from + size); s++) page.push({ chat_id: "c", seq: s });
        out.push(...o.page("c", page).map(m => m.seq));
      }
    }
    for (const s of live) out.push(...o.offer({ chat_id: "c", seq: s }).emit.map(m => m.seq));
    assert.deepEqual(out, Array.from({ length: n }, (_, i) => i + 1), "round " + round);
  }
});

test("a live message past a gap is held until the catch-up emits what came before it", async () => {
  const server = new FakeServer();
  server.addChat("g1", ["ana", "bia"]);
  const { t, seen } = await client(server);
  const m1 = server.store("g1", "bia", "one");
  server.live(m1);
  server.store("g1", "bia", "two"); server.store("g1", "bia", "three");
  server.hold = ["get_messages"];
  server.live(server.store("g1", "bia", "four")); // seq 4: 2 and 3 were lost
  await until(() => server.held.length === 1, "catch-up request");
  assert.equal(server.held[0][1].after_seq, 1);
  assert.equal(server.held[0][1].mark_read, false);
  server.live(server.store("g1", "bia", "five")); // arrives while the catch-up is out
  server.live(m1);                                  // a duplicate
  assert.deepEqual(seqs(seen, "g1"), [1]);
  server.hold = null;
  server.release();
  await until(() => seen.length === 5, "five messages");
  assert.deepEqual(seqs(seen, "g1"), [1, 2, 3, 4, 5]);
  t.close();
});

test("catch-up pages until has_more is false and emits each page in seq order", async () => {
  const server = new FakeServer();
  server.addChat("g1", ["ana", "bia"]);
  const { t, seen } = await client(server);
  for (let i = 1; i <= 10; i++) server.store("g1", "bia", "m" + i);
  const caught = [];
  t.on("catchup", e => caught.push(e));
  server.live(server.chats.get("g1").messages[9]); // seq 10
  await until(() => caught.length === 1, "catchup event");
  assert.deepEqual(seqs(seen, "g1"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(caught[0].count, 10);
  assert.equal(server.requests.filter(r => r.type === "get_messages").length, 4); // pages of 3
  t.close();
});

test("after a lost connection it re-authenticates with the token and catches up every chat it has seen", async () => {
  const server = new FakeServer();
  server.addChat("g1", ["ana", "bia"]);
  server.addChat("g2", ["ana", "caio"]);
  const { t, seen } = await client(server);
  const states = [];
  t.on("statechange", s => states.push(s));
  server.live(server.store("g1", "bia", "a"));
  server.autoOpen = false;
  server.ws.close();
  await until(() => t.state === "connecting", "reconnecting");
  server.store("g1", "bia", "b"); server.store("g2", "caio", "c"); server.store("g1", "bia", "d");
  server.ws.accept();
  await until(() => seen.length === 4, "missed messages");
  assert.deepEqual(seqs(seen, "g1"), [1, 2, 3]);
  assert.deepEqual(seqs(seen, "g2"), [1]);
  assert.deepEqual(states, ["offline", "connecting", "online"]);
  const auths = server.requests.filter(r => r.type === "auth");
  assert.deepEqual(auths.map(r => r.token), ["ana.tok"]);
  t.close();
});

test("a send whose answer was lost is sent again with the same client_msg_id and stored once", async () => {
  const server = new FakeServer();
  server.addChat("g1", ["ana", "bia"]);
  const { t, seen } = await client(server);
  server.hold = ["message"];
  const p = t.send("g1", "hello");
  await until(() => server.held.length === 1, "send out");
  const [, req] = server.held.pop();
  server.store("g1", "ana", req.content, req.client_msg_id); // stored, but the answer is lost with the link
  server.hold = null;
  server.ws.close();
  const m = await p;
  assert.equal(m.seq, 1);
  const sends = server.requests.filter(r => r.type === "message");
  assert.equal(sends.length, 2);
  assert.equal(sends[0].client_msg_id, sends[1].client_msg_id);
  assert.equal(server.chats.get("g1").messages.length, 1);
  assert.deepEqual(seqs(seen, "g1"), [1]);
  t.close();
});

test("sends made while offline wait in the outbox and go out in order on reconnect", async () => {
  const server = new FakeServer();
  server.addChat("g1", ["ana", "bia"]);
  const { t, seen } = await client(server);
  server.autoOpen = false;
  server.ws.close();
  await until(() => t.state !== "online", "offline");
  const ps = ["x", "y", "z"].map(c => t.send("g1", c));
  await tick(30);
  assert.equal(t.pending, 3);
  assert.equal(server.requests.filter(r => r.type === "message").length, 0);
  server.ws.accept();
  const ms = await Promise.all(ps);
  assert.deepEqual(ms.map(m => m.content), ["x", "y", "z"]);
  assert.deepEqual(seqs(seen, "g1"), [1, 2, 3]);
  assert.equal(t.pending, 0);
  t.close();
});

test("rate_limited answers are retried after retry_after_ms; other errors reject with their code", async () => {
  const server = new FakeServer();
  server.addChat("g1", ["ana", "bia"]);
  const { t } = await client(server);
  let limited = 2;
  server.refuse = (ws, r) => (r.type === "typing" && limited-- > 0 ? { code: "rate_limited", retry_after_ms: 10 } : null)
    || (r.type === "create_chat" ? { code: "not_found", message: "no such user" } : null);
  const r = await t.request("typing", { chat_id: "g1" });
  assert.equal(r.status, "ok");
  assert.equal(server.requests.filter(x => x.type === "typing").length, 3);
  await assert.rejects(t.request("create_chat", { user_id: "nobody" }), e => e instanceof TagarelaError && e.code === "not_found");
  t.close();
});

test("session:ended stops reconnecting, reports it and rejects pending sends", async () => {
  const server = new FakeServer();
  server.addChat("g1", ["ana", "bia"]);
  const { t } = await client(server);
  const ended = [];
  t.on("session:ended", p => ended.push(p.reason));
  server.hold = ["message"];
  const p = t.send("g1", "late");
  await until(() => server.held.length === 1, "send out");
  server.ws.push({ type: "session:ended", payload: { reason: "logout_all" } });
  await assert.rejects(p, e => e.code === "session_ended");
  const sockets = server.sockets.length;
  await tick(60);
  assert.equal(server.sockets.length, sockets);
  assert.deepEqual(ended, ["logout_all"]);
  assert.equal(t.state, "closed");
});

test("session:ended \"unverified\" (the server could not check the session) reconnects with the token instead of ending", async () => {
  const server = new FakeServer();
  server.addChat("g1", ["ana", "bia"]);
  const { t, seen } = await client(server);
  const ended = [];
  t.on("session:ended", p => ended.push(p.reason));
  const sockets = server.sockets.length;
  server.ws.push({ type: "session:ended", payload: { reason: "unverified" } });
  await until(() => server.sockets.length === sockets + 1 && t.state === "online", "back online on a new socket");
  assert.equal(server.requests.filter(x => x.type === "auth" && x.token === "ana.tok").length, 1, "authenticated again with its token");
  assert.deepEqual(ended, []);
  const sent = await t.send("g1", "still here");
  assert.equal(sent.seq, 1);
  await until(() => seqs(seen, "g1").length === 1, "its own message delivered once");
  // A token that is really gone then ends it, as on any reconnect.
  server.refuse = (ws, r) => (r.type === "auth" ? { code: "bad_credentials" } : null);
  server.ws.push({ type: "session:ended", payload: { reason: "unverified" } });
  await until(() => t.state === "closed", "closed");
  assert.deepEqual(ended, ["bad_credentials"]);
});

test("a refused token on reconnect ends the session instead of retrying for ever", async () => {
  const server = new FakeServer();
  const { t } = await client(server);
  const ended = [];
  t.on("session:ended", p => ended.push(p.reason));
  server.refuse = (ws, r) => (r.type === "auth" ? { code: "bad_credentials" } : null);
  server.ws.close();
  await until(() => t.state === "closed", "closed");
  assert.deepEqual(ended, ["bad_credentials"]);
});

test("connect rejects when the first login is refused", async () => {
  const server = new FakeServer();
  server.refuse = (ws, r) => (r.type === "login" ? { code: "bad_credentials" } : null);
  await assert.rejects(Tagarela.connect("ws://test/ws", { username: "ana", password: "nope-nope" },
    { ...fast, WebSocket: server.WebSocket }), e => e.code === "bad_credentials");
  assert.equal(server.sockets.length, 1, "no retry after a refused password");
});

test("a first login answered unavailable (its worker restarting) is tried again, not given up", async () => {
  const server = new FakeServer();
  let refusals = 2;
  server.refuse = (ws, r) => (r.type === "login" && refusals-- > 0 ? { code: "unavailable" } : null);
  const t = await Tagarela.connect("ws://test/ws", { username: "ana", password: "password1" },
    { ...fast, WebSocket: server.WebSocket });
  assert.equal(t.state, "online");
  assert.equal(t.user.id, "ana");
  assert.equal(server.requests.filter(r => r.type === "login").length, 3);
  t.close();
});

test("a first connection that cannot be opened still rejects connect", async () => {
  const server = new FakeServer();
  server.autoOpen = false;
  const p = Tagarela.connect("ws://test/ws", { username: "ana", password: "password1" }, { ...fast, WebSocket: server.WebSocket });
  await until(() => server.sockets.length === 1, "a socket");
  server.ws.close();
  await assert.rejects(p, e => e.code === "disconnected");
  await tick(50);
  assert.equal(server.sockets.length, 1, "no retry when the server cannot be reached at all");
});

test("an unavailable answer (a worker restarting) resyncs the chats, so events the worker lost are caught up", async () => {
  const server = new FakeServer();
  server.addChat("g1", ["ana", "bia"]);
  const { t, seen } = await client(server);
  server.store("g1", "bia", "stored, but its event died with the worker");
  server.refuse = (ws, r) => (r.type === "typing" ? { code: "unavailable" } : null);
  await assert.rejects(t.request("typing", { chat_id: "g1" }), e => e.code === "unavailable");
  await until(() => seen.length === 1, "the lost message");
  assert.deepEqual(seqs(seen, "g1"), [1]);
  t.close();
});

test("an attachment is handed out as a Blob a browser can render only when it is a raster image", async () => {
  const server = new FakeServer();
  const { t } = await client(server);
  const realFetch = globalThis.fetch;
  const asked = [];
  try {
    for (const [type, expected] of [["image/png", "image/png"], ["image/svg+xml", "application/octet-stream"],
                                    ["text/html", "application/octet-stream"], ["application/xhtml+xml", "application/octet-stream"]]) {
      globalThis.fetch = async (url, init) => { asked.push([url, init.headers.Authorization]); return new Response("<svg onload=alert(1)>", { headers: { "content-type": type } }); };
      const b = await t.fetchAttachment("g1", "a1");
      assert.equal(b.type, expected, type);
      assert.equal(await b.text(), "<svg onload=alert(1)>");
    }
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.deepEqual(asked[0], ["http://test/attachments/g1/a1", "Bearer ana.tok"]);
  assert.equal(isInlineImage("image/svg+xml"), false);
  assert.equal(isInlineImage("image/jpeg"), true);
  t.close();
});
