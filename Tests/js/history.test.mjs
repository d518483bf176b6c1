// history.test.mjs: the library's scroll-back (loadOlder) under scripted interleavings with live delivery (node --test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tagarela } from "../../Web/tagarela.js";
import { FakeServer, tick, until } from "./fake-server.mjs";

const fast = { minDelayMs: 5, maxDelayMs: 20, requestTimeoutMs: 2000, pageSize: 200 };

async function client(server) {
  const t = await Tagarela.connect("ws://test/ws", { username: "ana", password: "password1" }, { ...fast, WebSocket: server.WebSocket });
  const seen = [];
  t.on("message:new", m => seen.push(m.seq));
  await tick(1);
  return { t, seen };
}

function chatWith(server, count) {
  server.addChat("g1", ["ana", "bia"]);
  for (let i = 1; i <= count; i++) server.store("g1", "bia", "m" + i);
}

const olderRequests = server => server.requests.filter(r => r.type === "get_messages" && r.before_seq !== undefined);

test("loadOlder pages back to the first message: each once, ascending, hasMore false only at the start", async () => {
  const server = new FakeServer();
  chatWith(server, 23);
  const { t, seen } = await client(server);
  const got = [];
  let before = 24, page;
  do {
    page = await t.loadOlder("g1", before, 10);
    assert.deepEqual(page.messages.map(m => m.seq), [...page.messages.map(m => m.seq)].sort((a, b) => a - b));
    got.unshift(...page.messages.map(m => m.seq));
    before = page.messages[0].seq;
  } while (page.hasMore);
  assert.deepEqual(got, Array.from({ length: 23 }, (_, i) => i + 1));
  assert.deepEqual(olderRequests(server).map(r => [r.before_seq, r.limit, r.mark_read]), [[24, 10, false], [14, 10, false], [4, 10, false]]);
  assert.deepEqual(await t.loadOlder("g1", 1, 10), { messages: [], hasMore: false }); // nothing before seq 1: not asked
  assert.equal(olderRequests(server).length, 3);
  assert.deepEqual(seen, [], "history is not emitted as message:new");
  t.close();
});

test("history loaded back leaves live delivery alone: the next live message and a gap's catch-up still come once, in order", async () => {
  const server = new FakeServer();
  chatWith(server, 5);
  const { t, seen } = await client(server);
  await t.loadOlder("g1", 6, 50);
  server.live(server.store("g1", "bia", "six"));
  server.store("g1", "bia", "seven");
  server.live(server.store("g1", "bia", "eight")); // 7 lost: a catch-up after seq 6
  await until(() => seen.length === 3, "three live messages");
  assert.deepEqual((await t.loadOlder("g1", 9, 50)).messages.map(m => m.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  await tick(5);
  assert.deepEqual(seen, [6, 7, 8]);
  t.close();
});

test("a second loadOlder while the same one is out shares it (one request); another page or chat is its own", async () => {
  const server = new FakeServer();
  chatWith(server, 30);
  const { t } = await client(server);
  server.hold = ["get_messages"];
  const a = t.loadOlder("g1", 31, 10), b = t.loadOlder("g1", 31, 10), c = t.loadOlder("g1", 21, 10);
  await until(() => server.held.length === 2, "two requests held");
  assert.equal(a, b);
  server.hold = null;
  server.release(); server.release();
  assert.deepEqual((await a).messages.map(m => m.seq), [21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  assert.deepEqual((await c).messages.map(m => m.seq), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  await t.loadOlder("g1", 31, 10); // settled: asking again is a new request
  assert.equal(olderRequests(server).length, 3);
  t.close();
});

test("loadOlder's limit stays within the server's page (1..pageSize) and a refusal rejects with its code", async () => {
  const server = new FakeServer();
  chatWith(server, 3);
  const { t } = await client(server);
  await t.loadOlder("g1", 4, 5000);
  await t.loadOlder("g1", 4, 0);
  assert.deepEqual(olderRequests(server).map(r => r.limit), [200, 1]);
  server.refuse = (ws, req) => req.type === "get_messages" ? { code: "forbidden" } : null;
  await assert.rejects(t.loadOlder("g1", 4, 5), e => e.code === "forbidden");
  server.refuse = null;
  assert.equal((await t.loadOlder("g1", 4, 5)).messages.length, 3, "a refused call is not kept as the one out");
  t.close();
});
