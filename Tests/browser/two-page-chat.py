#!/usr/bin/env python3
"""two-page-chat.py: two users chat in two browser pages on the built-in web client (and so on /tagarela.js)
against a real instance: a burst through `deploy/tagarela restart`, a burst through `kill -9` of the chat's
worker, messages typed while one browser is offline. At the end both pages show the same history, every message
exactly once and in seq order, the library emitted each message:new once in order, and every send was acknowledged.

Usage (Tests/run step 6 does this): Tests/tools/browser-check --script Tests/browser/two-page-chat.py
    --url http://127.0.0.1:PORT/ --data DIR --deploy deploy/tagarela
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chatpages import Fail, arguments, deploy, finish, log, open_direct_chat, open_page, owner_worker_pid, read, \
    register, run, type_message, wait  # noqa: E402

GAP = 0.04  # seconds between typed messages: a burst, alternating pages


def burst(pages, label, count, during=None, at=None):
    """Types `count` messages alternating between the pages; calls during() before message `at`. Returns the texts by page."""
    typed = {0: [], 1: []}
    for i in range(count):
        if during and i == at:
            during()
        who = i % 2
        text = "%s %02d from %s" % (label, i, "ab"[who])
        type_message(pages[who], text)
        typed[who].append(text)
        time.sleep(GAP)
    return typed


def converge(pages, typed, timeout, logs):
    """Waits until both pages show every typed message and have every send acknowledged; returns their views."""
    want = len(typed[0]) + len(typed[1])

    def converged():
        views = [read(p) for p in pages]
        for i, v in enumerate(views):
            if v["pending"] or v["sent"] != ["ok"] * len(typed[i]) or len(v["shown"]) != want:
                return None
        return views if views[0]["shown"] == views[1]["shown"] else None

    try:
        return wait("both pages to agree on %d messages" % want, converged, timeout=timeout, every=0.25)
    except Fail:
        for i, p in enumerate(pages):
            v = read(p)
            log("page %s: state %s, %d shown, %d pending, sent %s" % ("AB"[i], v["state"], len(v["shown"]), v["pending"],
                                                                     {s: v["sent"].count(s) for s in set(v["sent"])}))
        for line in logs[-10:]:
            log(line)
        raise


def scenario(browser, a):
    logs = []
    suffix = "%06d" % random.randrange(10 ** 6)
    names = ["ana" + suffix, "bia" + suffix]
    (ctx_a, page_a), (ctx_b, page_b) = open_page(browser, a.url, logs), open_page(browser, a.url, logs)
    pages = [page_a, page_b]
    register(page_a, names[0])
    register(page_b, names[1])
    chat = open_direct_chat(page_a, page_b, names[1])
    log("chat %s between %s and %s" % (chat, *names))
    typed = {0: [], 1: []}

    def add(more):
        for k in more:
            typed[k] += more[k]

    # 1. A burst with the whole instance restarted in its middle: both pages lose the gateway.
    restart = {}
    add(burst(pages, "restart", 30, during=lambda: restart.setdefault("p", deploy(a, "restart")), at=10))
    finish(restart["p"], "deploy/tagarela restart")
    log("restart burst typed; instance back")

    # 2. A burst with the chat's worker killed (SIGKILL) in its middle; the supervisor restarts it.
    pid, k = owner_worker_pid(a.data, chat)
    add(burst(pages, "kill", 30, during=lambda: os.kill(pid, 9), at=10))
    log("kill burst typed (worker-%d, pid %d, killed)" % (k, pid))
    converge(pages, typed, a.timeout, logs)
    log("both pages agree after the restart and the kill")

    # 3. Page A's browser goes offline and only B types: A learns of B's messages from its catch-up after
    #    reconnecting (nothing of its own to send that would reveal the gap).
    ctx_a.set_offline(True)
    wait("page A to see it is offline", lambda: read(page_a)["state"] in ("offline", "connecting"))
    for i in range(5):
        text = "away %02d from b" % i
        type_message(page_b, text)
        typed[1].append(text)
        time.sleep(GAP)
    wait("page B's sends acknowledged", lambda: read(page_b)["sent"] == ["ok"] * len(typed[1]))
    away = read(page_a)
    if len(away["shown"]) != len(typed[0]) + len(typed[1]) - 5 or away["state"] == "online":
        raise Fail("page A was not offline: it is %s and shows %d messages" % (away["state"], len(away["shown"])))
    ctx_a.set_offline(False)
    converge(pages, typed, a.timeout, logs)
    log("page A caught up with what B typed while A was offline")

    # 4. Page A's browser goes offline again; its user types on (the outbox holds them), B too; A comes back.
    ctx_a.set_offline(True)
    wait("page A to see it is offline", lambda: read(page_a)["state"] in ("offline", "connecting"))
    add(burst(pages, "offline", 10))
    time.sleep(1)
    queued = read(page_a)
    if queued["pending"] < 5 or queued["state"] == "online":
        raise Fail("page A sent while offline: %s" % queued)
    ctx_a.set_offline(False)
    log("offline burst typed; page A back online")

    views = converge(pages, typed, a.timeout, logs)
    want = sorted(typed[0] + typed[1])
    shown = views[0]["shown"]
    seqs = [s for s, _ in shown]
    if seqs != list(range(1, len(want) + 1)):
        raise Fail("seqs are not 1..%d in order: %s" % (len(want), seqs))
    if sorted(t for _, t in shown) != want:
        raise Fail("the history is not each typed message once: %s" % sorted(t for _, t in shown))
    for who in (0, 1):  # each page's own messages in the order it typed them
        mine = [t for _, t in shown if t.endswith("from " + "ab"[who])]
        if mine != typed[who]:
            raise Fail("page %s's messages out of typed order: %s" % ("AB"[who], mine))
    for i, v in enumerate(views):
        if v["deliveries"] != seqs:
            raise Fail("page %s's library emitted message:new %s, not each seq once in order" % ("AB"[i], v["deliveries"]))
    if logs:
        raise Fail("page errors: %s" % logs[:5])
    ctx_a.close()
    ctx_b.close()
    return ("two pages, %d messages through a restart, a worker kill -9 and an offline browser: the same history "
            "on both, each once in seq order, every send acknowledged" % len(want))


if __name__ == "__main__":
    sys.exit(run(scenario, arguments(__doc__)))
