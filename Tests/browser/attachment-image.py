#!/usr/bin/env python3
"""attachment-image.py: page A attaches a small PNG on the built-in web client and page B (another user, another
browser context) sees it shown inline: the page fetched GET /attachments/<chat>/<id> with its bearer token and
decoded the image. Needs the server side of attachments (issue 12).

Usage (Tests/run step 6 does this): Tests/tools/browser-check --script Tests/browser/attachment-image.py
    --url http://127.0.0.1:PORT/ --data DIR --deploy deploy/tagarela
"""
import os
import random
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chatpages import Fail, arguments, open_direct_chat, open_page, register, run, wait  # noqa: E402

SHOWN = """() => [...document.querySelectorAll('#msgs .m[data-seq]')].map(d => {
  const img = d.querySelector('img.att');
  return { text: d.querySelector('span').textContent, src: img ? img.src : null, width: img ? img.naturalWidth : 0,
           height: img ? img.naturalHeight : 0, complete: img ? img.complete : false };
})"""


def png(width, height, rgb):
    """A valid RGB PNG of one colour, built here so the test carries no binary file."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def scenario(browser, a):
    logs = []
    suffix = "%06d" % random.randrange(10 ** 6)
    names = ["ana" + suffix, "bia" + suffix]
    (ctx_a, page_a), (ctx_b, page_b) = open_page(browser, a.url, logs), open_page(browser, a.url, logs)
    register(page_a, names[0])
    register(page_b, names[1])
    open_direct_chat(page_a, page_b, names[1])
    page_a.set_input_files("#file", files=[{"name": "dot.png", "mimeType": "image/png", "buffer": png(3, 2, (200, 30, 30))}])
    page_a.fill("#tx", "a red dot")
    page_a.evaluate("() => document.getElementById('fm').requestSubmit()")
    wait("page A's send acknowledged", lambda: page_a.evaluate("() => [...window.tagarelaPage.sent.values()]") == ["ok"],
         timeout=a.timeout)

    mine = page_a.evaluate(SHOWN)
    if not mine or page_a.evaluate("() => !document.querySelector('#msgs .m[data-seq] .att')"):
        raise Fail("the server's answer carries no attachment (issue 12's server side is needed): page A shows %s" % mine)

    def shown():
        views = page_b.evaluate(SHOWN)
        return views if views and views[0]["complete"] and views[0]["width"] else None

    try:
        views = wait("page B to show the image", shown, timeout=a.timeout)
    except Fail:
        raise Fail("page B shows %s; page errors %s; A sent %s" % (page_b.evaluate(SHOWN), logs[:5],
                                                                  page_a.evaluate("() => [...window.tagarelaPage.sent.values()]")))
    v = views[0]
    if (v["text"], v["width"], v["height"]) != ("a red dot", 3, 2) or not v["src"].startswith("blob:"):
        raise Fail("page B shows %s, not the 3x2 PNG from a blob URL under 'a red dot'" % v)
    ctx_a.close()
    ctx_b.close()
    return "page A attached a 3x2 PNG; page B showed it inline (%dx%d, fetched with its token into %s)" % (
        v["width"], v["height"], v["src"][:5] + "…")


if __name__ == "__main__":
    sys.exit(run(scenario, arguments(__doc__)))
