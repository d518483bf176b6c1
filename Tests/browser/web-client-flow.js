// web-client-flow.js: drives the built-in web client (GET /) in headless Chromium through
// ../shared/tools/browser-check --expr: register, create a group, send a message, see it.
// The expression starts the flow once and is polled until window.__r holds the verdict.
// Chromium offers permessage-deflate: the gateway's /metrics must show compressed messages both ways.
(window.__t ||= (async () => {
  const $ = id => document.getElementById(id), sleep = ms => new Promise(r => setTimeout(r, ms));
  const until = async (f, what) => { for (let i = 0; i < 100; i++) { if (f()) return; await sleep(50); } throw new Error("timeout: " + what); };
  try {
    await until(() => window.tagarelaPage && !$("auth").hidden, "login form");
    const name = "web" + Math.floor(Math.random() * 1e6);
    $("u").value = name; $("p").value = "password123"; $("dn").value = "Web User";
    $("br").click();
    await until(() => !$("app").hidden, "logged in");
    await until(() => $("conn").textContent === "online", "online");
    $("gn").value = "solo"; $("gm").value = "";
    $("fg").requestSubmit();
    await until(() => document.querySelectorAll("#chats li").length === 1, "group listed");
    $("tx").value = "hello from the browser"; $("fm").requestSubmit();
    await until(() => [...document.querySelectorAll("#msgs .m span")].some(s => s.textContent === "hello from the browser"), "message shown");
    const metrics = await (await fetch("/metrics")).text();
    const compressed = dir => +((metrics.match(new RegExp('tagarela_compressed_messages_total\\{direction="' + dir + '"\\} (\\d+)')) || [])[1] || 0);
    if (!(compressed("out") > 0 && compressed("in") > 0)) throw new Error("permessage-deflate not in use: compressed out " + compressed("out") + ", in " + compressed("in"));
    window.__r = "PASS (compressed out " + compressed("out") + ", in " + compressed("in") + ") registered " + name + ", created a group, sent and saw a message; me=" + $("me").textContent;
  } catch (e) { window.__r = "FAIL " + e.message; }
})(), window.__r)
