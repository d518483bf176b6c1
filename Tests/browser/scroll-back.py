#!/usr/bin/env python3
"""scroll-back.py: a chat with more history than one page, opened on the built-in web client: it shows the latest
page scrolled to the bottom; scrolling to the top, again and again, brings the older pages (get_messages before_seq)
until the first message, with the message under the user's eyes held in place, one request out at a time and none
once nothing is older; at the end every message is shown exactly once, in seq order. A message arriving while the
user reads back does not move the view either.

The history is written before the page logs in, by another user over raw TCP (PROTOCOL.md 1: newline-delimited
JSON on the same port), so the page knows it only from what it fetches.

Usage (Tests/run step 6 does this): Tests/tools/browser-check --script Tests/browser/scroll-back.py
    --url http://127.0.0.1:PORT/ --data DIR --deploy deploy/tagarela
"""
import json
import os
import random
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chatpages import Fail, arguments, log, log_in, open_page, run, wait  # noqa: E402

HISTORY = 240  # more than the 200 the page used to fetch at once, so the oldest are reachable only by scrolling back
SEND_GAP = 0.025  # seconds between sends: 40/s, under the default 50 requests/s per connection (PROTOCOL.md 2.5)

# What the list shows, how it is scrolled, and the scroll-back requests the page's library has made.
VIEW = """() => {
  const box = document.getElementById('msgs'), els = [...box.querySelectorAll('.m[data-seq]')];
  const v = window.tagarelaPage.view;
  return { shown: els.map(d => [+d.dataset.seq, d.querySelector('span').textContent]),
           loading: !!(v && v.loading), hasMore: v ? v.hasMore : null, top: box.scrollTop,
           fromBottom: box.scrollHeight - box.scrollTop - box.clientHeight, tall: box.scrollHeight > box.clientHeight * 2,
           older: window.scrollBackRequests || null };
}"""

# Counts the library's get_messages before_seq requests and the most that were out at once.
WATCH_REQUESTS = """() => {
  const t = window.tagarelaPage.client, request = t.request.bind(t);
  const w = window.scrollBackRequests = { sent: 0, out: 0, maxOut: 0 };
  t.request = (type, fields, opts) => {
    if (type !== 'get_messages' || !fields || fields.before_seq === undefined) return request(type, fields, opts);
    w.sent += 1; w.out += 1; w.maxOut = Math.max(w.maxOut, w.out);
    return request(type, fields, opts).finally(() => { w.out -= 1; });
  };
}"""

# Flings the list to its very top several times over (each a scroll event the page hears at once) and returns where
# message `seq` then is, in pixels below the list's top edge (where the user left it, to be kept), and the note
# above the list (what the page says while the older page is on its way).
SCROLL_TO_TOP = """seq => {
  const box = document.getElementById('msgs');
  for (let i = 0; i < 5; i++) { box.scrollTop = 0; box.dispatchEvent(new Event('scroll')); }
  const el = box.querySelector('.m[data-seq="' + seq + '"]'), note = box.querySelector('.older');
  return [el.getBoundingClientRect().top - box.getBoundingClientRect().top, note ? note.textContent : ''];
}"""

WHERE = """seq => {
  const box = document.getElementById('msgs'), el = box.querySelector('.m[data-seq="' + seq + '"]');
  return el ? el.getBoundingClientRect().top - box.getBoundingClientRect().top : null;
}"""


class LineClient:
    """A raw TCP client of the gateway: one JSON object a line, each request answered by its request_id."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=15)
        self.lines = self.sock.makefile("r", encoding="utf-8")
        self.next = 0

    def ask(self, **request):
        self.next += 1
        request["request_id"] = "s%d" % self.next
        self.sock.sendall((json.dumps(request) + "\n").encode())
        while True:  # events (message:new, chat:new) may come before the answer
            line = self.lines.readline()
            if not line:
                raise Fail("the gateway closed the raw TCP connection during %s" % request["type"])
            answer = json.loads(line)
            if answer.get("request_id") == request["request_id"]:
                if answer.get("status") != "ok":
                    raise Fail("%s refused: %s" % (request["type"], answer))
                return answer

    def close(self):
        self.sock.close()


def check_run(shown, last, what):
    """`shown` is one run of seqs ending at `last`, each message's text its own, each once."""
    seqs = [s for s, _ in shown]
    if not seqs or seqs != list(range(seqs[0], last + 1)):
        raise Fail("%s: the list is not one run of seqs up to %d: %s" % (what, last, seqs))
    wrong = [(s, text) for s, text in shown if text != "old %03d" % s and s <= HISTORY]
    if wrong:
        raise Fail("%s: messages shown with another's text: %s" % (what, wrong[:5]))


def scenario(browser, a):
    logs = []
    suffix = "%06d" % random.randrange(10 ** 6)
    reader, writer = "ana" + suffix, "bia" + suffix
    bia = LineClient(a.url)
    try:
        for name in (reader, writer):
            bia.ask(type="register", username=name, password="password123", display_name=name)
        bia.ask(type="login", username=writer, password="password123")
        chat = bia.ask(type="create_chat", user_id=reader)["chat"]["id"]
        for i in range(1, HISTORY + 1):
            bia.ask(type="message", chat_id=chat, content="old %03d" % i, client_msg_id="old-%d" % i)
            time.sleep(SEND_GAP)
        log("%s wrote %d messages in chat %s over raw TCP" % (writer, HISTORY, chat))

        ctx, page = open_page(browser, a.url, logs)
        log_in(page, reader)
        page.wait_for_function("() => document.querySelectorAll('#chats li').length === 1", timeout=15000)
        page.click("#chats li")
        page.wait_for_function("n => { const s = document.querySelectorAll('#msgs .m[data-seq]');"
                               " return s.length && +s[s.length - 1].dataset.seq === n; }", arg=HISTORY, timeout=15000)
        page.evaluate(WATCH_REQUESTS)
        v = page.evaluate(VIEW)
        check_run(v["shown"], HISTORY, "on opening")
        if len(v["shown"]) >= HISTORY:
            raise Fail("opening the chat showed all %d messages at once, not a page of the latest" % HISTORY)
        if v["fromBottom"] > 2 or not v["tall"]:
            raise Fail("on opening the list is not a tall list scrolled to its bottom: %s" % {k: v[k] for k in ("top", "fromBottom", "tall")})
        log("opened on seqs %d..%d, scrolled to the bottom" % (v["shown"][0][0], HISTORY))

        # Scroll to the top until the first message is shown; each time the message that was at the top stays put.
        pages = 0
        while v["shown"][0][0] > 1:
            first = v["shown"][0][0]
            dy, note = page.evaluate(SCROLL_TO_TOP, first)  # five flings while the first one's request is out: still one
            if "loading" not in note:
                raise Fail("scrolling to the top before seq %d showed no loading note (%r)" % (first, note))
            try:
                v = wait("older messages than seq %d after scrolling to the top" % first,
                         lambda: (lambda x: x if x["shown"][0][0] < first and not x["loading"] else None)(page.evaluate(VIEW)),
                         timeout=15)
            except Fail:
                raise Fail("scrolling to the top showed nothing older than seq %d (of %d; page errors %s)" % (first, HISTORY, logs[:3]))
            pages += 1
            check_run(v["shown"], HISTORY, "after scrolling back %d times" % pages)
            moved = page.evaluate(WHERE, first) - dy
            if abs(moved) > 2:
                raise Fail("loading the page before seq %d moved it %.1f px on the screen" % (first, moved))
            if v["top"] <= 0:
                raise Fail("after loading older messages the list is still at its very top: the view jumped to them")
            if pages > HISTORY:
                raise Fail("scroll-back does not end")
        log("%d scroll-backs to seq 1, the message under the eyes held each time" % pages)
        if v["hasMore"] is not False:
            raise Fail("at seq 1 the page still thinks older messages exist (has_more %s)" % v["hasMore"])
        asked = v["older"]
        if asked["maxOut"] != 1 or asked["sent"] != pages:
            raise Fail("scroll-back requests: %d sent for %d pages, %d out at once at most" % (asked["sent"], pages, asked["maxOut"]))
        _, note = page.evaluate(SCROLL_TO_TOP, 1)
        time.sleep(0.5)
        if page.evaluate(VIEW)["older"]["sent"] != pages or "beginning" not in note:
            raise Fail("scrolling to the top of the first message asked for more, or said %r" % note)

        # A message arriving while the user reads the oldest ones shows up without moving the view.
        dy = page.evaluate(WHERE, 1)
        bia.ask(type="message", chat_id=chat, content="live %03d" % (HISTORY + 1), client_msg_id="live")
        v = wait("the live message", lambda: (lambda x: x if x["shown"][-1][0] == HISTORY + 1 else None)(page.evaluate(VIEW)))
        moved = page.evaluate(WHERE, 1) - dy
        if abs(moved) > 2:
            raise Fail("a live message moved the view of a user reading back by %.1f px" % moved)
        check_run(v["shown"], HISTORY + 1, "at the end")
        if v["shown"][0][0] != 1 or v["shown"][-1][1] != "live %03d" % (HISTORY + 1):
            raise Fail("at the end the list is not seqs 1..%d: %s" % (HISTORY + 1, [s for s, _ in v["shown"]]))
        if logs:
            raise Fail("page errors: %s" % logs[:5])
        ctx.close()
    finally:
        bia.close()
    return ("a %d-message chat opened on its latest page; %d scrolls to the top brought every older page, each "
            "message once in seq order, the view held in place, one request out at a time" % (HISTORY, pages))


if __name__ == "__main__":
    sys.exit(run(scenario, arguments(__doc__)))
