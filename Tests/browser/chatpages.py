"""chatpages.py: what the multi-page browser scenarios share: Chromium via Playwright, users registered on
the built-in web client, typing, reading what each page shows, waiting for both pages to agree, the instance's processes.

Run through `Tests/tools/browser-check --script` (its venv and Chromium). Every wait is bounded.
"""
import argparse
import glob
import os
import subprocess
import sys
import time

READ_PAGE = """() => ({
  shown: [...document.querySelectorAll('#msgs .m[data-seq]')].map(d => [+d.dataset.seq, d.querySelector('span').textContent]),
  pending: document.querySelectorAll('#msgs .m.pending').length,
  sent: [...window.tagarelaPage.sent.values()],
  deliveries: window.tagarelaPage.deliveries.filter(d => d[0] === window.tagarelaPage.chat).map(d => d[1]),
  state: document.getElementById('conn').textContent,
})"""


_children = []  # deploy/tagarela runs started here: waited for (or killed) before the scenario returns


class Fail(Exception):
    """The scenario's verdict: FAIL with this text."""


def arguments(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--url", required=True, help="the instance's web client, http://127.0.0.1:PORT/")
    ap.add_argument("--data", required=True, help="the instance's data folder (deploy/tagarela --data)")
    ap.add_argument("--deploy", required=True, help="deploy/tagarela (TAGARELA_BIN in the environment picks the binary)")
    ap.add_argument("--timeout", type=float, default=90, help="seconds for each convergence wait")
    return ap.parse_args()


def run(scenario, a):
    """Runs scenario(browser, a) in headless Chromium; prints PASS/FAIL; exit 0, 1, or 2 (no verdict)."""
    from playwright.sync_api import sync_playwright, Error as PWError
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=a.chromium, headless=True,
                                        args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        except PWError as e:
            print("browser-check: error: could not launch %s: %s" % (a.chromium, str(e).splitlines()[0]))
            return 2
        try:
            print("PASS " + scenario(browser, a), flush=True)
            return 0
        except (Fail, PWError) as e:
            print("FAIL " + str(e), flush=True)
            return 1
        finally:
            browser.close()
            for proc in _children:  # a scenario that failed mid-restart leaves no supervisor command running
                try:
                    proc.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def wait(what, f, timeout=30, every=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = f()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Fail("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(every)


def open_page(browser, url, logs):
    ctx = browser.new_context()  # one context per user: its own localStorage, its own offline switch
    page = ctx.new_page()
    page.on("pageerror", lambda e: logs.append("pageerror: %s" % e))
    page.goto(url, wait_until="load")
    return ctx, page


def register(page, name):
    sign_in(page, name, "#br")


def log_in(page, name):
    """Logs in as `name`, an account registered elsewhere (password123)."""
    sign_in(page, name, "#bl")


def sign_in(page, name, button):
    """Fills the login form (name, password123, display name) and presses `button` (#br Register, #bl Log in)."""
    page.wait_for_function("() => window.tagarelaPage && !document.getElementById('auth').hidden", timeout=15000)
    page.fill("#u", name)
    page.fill("#p", "password123")
    page.fill("#dn", name)
    page.click(button)
    page.wait_for_function("() => document.getElementById('conn').textContent === 'online'", timeout=15000)


def open_direct_chat(page_a, page_b, user_b):
    """Page A starts the direct chat with user B; page B opens it when its chat:new arrives. Returns its id."""
    page_a.fill("#du", user_b)
    page_a.evaluate("() => document.getElementById('fd').requestSubmit()")
    page_a.wait_for_function("() => window.tagarelaPage.chat", timeout=15000)
    chat = page_a.evaluate("() => window.tagarelaPage.chat")
    page_b.wait_for_function("() => document.querySelectorAll('#chats li').length === 1", timeout=15000)
    page_b.click("#chats li")
    page_b.wait_for_function("id => window.tagarelaPage.chat === id", arg=chat, timeout=15000)
    return chat


def type_message(page, text):
    """What a user does: type in the box and press Send (no wait for the answer)."""
    page.evaluate("t => { document.getElementById('tx').value = t; document.getElementById('fm').requestSubmit(); }", text)


def read(page):
    return page.evaluate(READ_PAGE)


def deploy(a, *args):
    """Starts `deploy/tagarela ARGS --data DIR` (finish() waits for it)."""
    proc = subprocess.Popen([a.deploy, *args, "--data", a.data], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    _children.append(proc)
    return proc


def finish(proc, what, timeout=120):
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise Fail("%s did not finish in %ss" % (what, timeout))
    if rc != 0:
        raise Fail("%s exited %d" % (what, rc))


def owner_worker_pid(data, chat_id):
    """The pid of the worker whose shard holds the chat: the one whose store files mention its id."""
    needle = chat_id.encode()
    for shard in sorted(glob.glob(os.path.join(data, "shard-*"))):
        for f in glob.glob(os.path.join(shard, "**", "*"), recursive=True):
            if os.path.isfile(f) and needle in open(f, "rb").read():
                k = shard.rsplit("-", 1)[1]
                with open(os.path.join(data, "run", "worker-%s.pid" % k)) as pid:
                    return int(pid.read().strip()), int(k)
    raise Fail("no shard of %s holds chat %s" % (data, chat_id))


def log(text):
    print("  · " + text, file=sys.stderr, flush=True)
