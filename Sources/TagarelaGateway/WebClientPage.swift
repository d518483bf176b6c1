// WebClientPage: the built-in web client served at `GET /`, one self-contained HTML page with inline JS.

/// The built-in web client: connects to `/ws`, registers or logs in (keeping the token for
/// `auth` on reload), lists chats newest first, opens direct chats and groups, sends and shows
/// messages live, and shows typing and read receipts. No external assets (PROTOCOL.md 1).
public enum WebClientPage {
    /// The page's bytes, built once.
    public static let bytes: [UInt8] = Array(html.utf8)

    static let html = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Tagarela</title>
<style>
[hidden]{display:none!important}
body{margin:0;font:15px system-ui,sans-serif;background:#f3f4f6;color:#111;height:100vh;display:flex;flex-direction:column}
header{background:#0f766e;color:#fff;padding:8px 14px;display:flex;gap:12px;align-items:center}
header b{font-size:18px;flex:1}
main{flex:1;display:flex;min-height:0}
#side{width:280px;border-right:1px solid #ddd;background:#fff;display:flex;flex-direction:column}
#chats{flex:1;overflow:auto;list-style:none;margin:0;padding:0}
#chats li{padding:9px 12px;border-bottom:1px solid #eee;cursor:pointer}
#chats li.sel{background:#ccfbf1}#chats li small{color:#666;display:block;white-space:nowrap;overflow:hidden}
.unread{background:#0f766e;color:#fff;border-radius:9px;padding:0 6px;font-size:12px;float:right}
#room{flex:1;display:flex;flex-direction:column;min-width:0}
#msgs{flex:1;overflow:auto;padding:12px}
.m{max-width:70%;margin:4px 0;padding:6px 10px;border-radius:10px;background:#fff;box-shadow:0 1px 1px #0002}
.m.me{margin-left:auto;background:#d1fae5}.m small{color:#666;font-size:11px;display:block}
#typing{height:18px;padding:0 12px;color:#666;font-size:12px}
form{display:flex;gap:6px;padding:8px}input,button{font:inherit;padding:6px 8px}input{flex:1;min-width:0}
#login{margin:auto;background:#fff;padding:20px;border-radius:8px;display:flex;flex-direction:column;gap:8px;width:280px}
.tools{padding:8px;display:flex;flex-direction:column;gap:6px;border-top:1px solid #ddd}
#err{color:#b91c1c;font-size:13px;min-height:16px}
</style></head><body>
<header><b>Tagarela</b><span id="me"></span><span id="conn">offline</span><button id="out" hidden>Log out</button><button id="outall" hidden>Log out everywhere</button></header>
<main id="auth"><div id="login">
<input id="u" placeholder="username" autocomplete="username"><input id="p" type="password" placeholder="password (8+)">
<input id="dn" placeholder="display name (register only)">
<button id="bl">Log in</button><button id="br">Register</button><div id="err"></div></div></main>
<main id="app" hidden><div id="side"><ul id="chats"></ul>
<div class="tools"><form id="fd"><input id="du" placeholder="username for a direct chat"><button>Chat</button></form>
<form id="fg"><input id="gn" placeholder="group name"><input id="gm" placeholder="members a,b,c"><button>Group</button></form></div></div>
<div id="room"><div id="msgs"></div><div id="typing"></div>
<form id="fm"><input id="tx" placeholder="message" autocomplete="off" disabled><button>Send</button></form></div></main>
<script>
"use strict";
const $=id=>document.getElementById(id);
let ws,me=null,seqN=0,chats=new Map(),cur=null,pending=new Map(),lastTyping=0,typingTimer=null;
function req(type,fields){return new Promise(res=>{const id="r"+(++seqN);pending.set(id,res);
 ws.send(JSON.stringify(Object.assign({type,request_id:id},fields||{})));});}
function err(t){$("err").textContent=t||"";}
function connect(){
 ws=new WebSocket((location.protocol==="https:"?"wss://":"ws://")+location.host+"/ws");
 ws.onopen=async()=>{$("conn").textContent="online";const t=localStorage.getItem("tagarela_token");
  if(t){const r=await req("auth",{token:t});if(r.status==="ok")enter(r.user);else localStorage.removeItem("tagarela_token");}};
 ws.onclose=()=>{$("conn").textContent="offline";for(const f of pending.values())f({status:"error",code:"unavailable"});
  pending.clear();setTimeout(connect,1500);};
 ws.onmessage=e=>{const m=JSON.parse(e.data);
  if(m.request_id&&pending.has(m.request_id)){const f=pending.get(m.request_id);pending.delete(m.request_id);f(m);return;}
  onEvent(m);};
}
async function login(register){err();const username=$("u").value.trim(),password=$("p").value;
 if(register){const r=await req("register",{username,password,display_name:$("dn").value.trim()||undefined});
  if(r.status!=="ok")return err(r.message||r.code);}
 const r=await req("login",{username,password});if(r.status!=="ok")return err(r.message||r.code);
 localStorage.setItem("tagarela_token",r.token);enter(r.user);}
async function enter(user){me=user;$("me").textContent=user.display_name+" (@"+user.username+")";
 $("auth").hidden=true;$("app").hidden=false;$("out").hidden=false;$("outall").hidden=false;await loadChats();}
async function loadChats(){const all=new Map();let cursor=null;
 do{const r=await req("get_user_chats",cursor?{limit:50,cursor}:{limit:50});if(r.status!=="ok")return;
  r.chats.forEach(c=>all.set(c.id,c));cursor=r.has_more?r.next_cursor:null;}while(cursor);
 chats=all;drawChats();if(cur&&chats.has(cur))openChat(cur);}
function chatTitle(c){return c.kind==="group"?c.name:(c.member_ids.find(x=>x!==me.id)||c.name||c.id);}
function activity(c){return c.last_message?c.last_message.timestamp:c.created_at;}
function drawChats(){const ul=$("chats");ul.textContent="";
 [...chats.values()].sort((a,b)=>activity(b)>activity(a)?1:-1).forEach(c=>{const li=document.createElement("li");
  li.className=c.id===cur?"sel":"";const n=c.unread_count&&c.id!==cur?'<span class="unread">'+c.unread_count+"</span>":"";
  li.innerHTML=n+"<b></b><small></small>";li.querySelector("b").textContent=(c.kind==="group"?"# ":"")+chatTitle(c);
  li.querySelector("small").textContent=c.last_message?c.last_message.sender_id+": "+c.last_message.content:"no messages yet";
  li.onclick=()=>openChat(c.id);ul.appendChild(li);});}
async function openChat(id){cur=id;$("tx").disabled=false;$("typing").textContent="";const c=chats.get(id);
 if(c)c.unread_count=0;drawChats();const r=await req("get_messages",{chat_id:id,limit:50});
 if(r.status!=="ok"||cur!==id)return;$("msgs").textContent="";r.messages.forEach(addMsg);}
function addMsg(m){const d=document.createElement("div");d.className="m"+(m.sender_id===me.id?" me":"");d.id="m-"+m.id;
 d.dataset.seq=m.seq;d.innerHTML="<small></small><span></span><small class=rr></small>";
 d.querySelector("small").textContent=m.sender_id+" · "+new Date(m.timestamp).toLocaleTimeString();
 d.querySelector("span").textContent=m.content;d.querySelector(".rr").textContent=readText(m);
 const box=$("msgs");box.appendChild(d);box.scrollTop=box.scrollHeight;}
function readText(m){if(m.sender_id!==me.id||!m.read_by||!m.read_by.length)return "";
 const more=(m.read_count||0)-m.read_by.length;return "✓✓ read by "+m.read_by.join(", ")+(more>0?" and "+more+" more":"");}
function onEvent(e){const p=e.payload||{};
 if(e.type==="message:new"){const c=chats.get(p.chat_id);if(!c){loadChats();return;}
  c.last_message=p;if(p.chat_id===cur){addMsg(p);if(p.sender_id!==me.id)req("mark_read",{chat_id:cur,seq:p.seq});}
  else if(p.sender_id!==me.id)c.unread_count=(c.unread_count||0)+1;
  if(p.sender_id!==me.id&&p.chat_id===cur)$("typing").textContent="";drawChats();}
 else if(e.type==="chat:new"||e.type==="chat:updated"){if(me&&!p.member_ids.includes(me.id)){chats.delete(p.id);
  if(cur===p.id){cur=null;$("msgs").textContent="";}}else chats.set(p.id,p);drawChats();}
 else if(e.type==="chat:typing"){if(p.chat_id===cur&&p.user_id!==me.id){$("typing").textContent=p.user_id+" is typing…";
  clearTimeout(typingTimer);typingTimer=setTimeout(()=>$("typing").textContent="",3000);}}
 else if(e.type==="message:read"){if(p.chat_id!==cur)return;document.querySelectorAll("#msgs .m.me").forEach(d=>{
  if(+d.dataset.seq<=p.seq&&p.user_id!==me.id){const rr=d.querySelector(".rr");
   if(!rr.textContent.includes(p.user_id))rr.textContent=(rr.textContent?rr.textContent+", ":"✓✓ read by ")+p.user_id;}});}
 else if(e.type==="session:ended"){logoutLocal();}}
function logoutLocal(){localStorage.removeItem("tagarela_token");me=null;cur=null;chats.clear();$("msgs").textContent="";
 $("app").hidden=true;$("auth").hidden=false;$("out").hidden=true;$("outall").hidden=true;$("me").textContent="";}
$("bl").onclick=()=>login(false);$("br").onclick=()=>login(true);
$("out").onclick=async()=>{await req("logout");logoutLocal();};
$("outall").onclick=async()=>{await req("logout_all");logoutLocal();};
$("fm").onsubmit=async ev=>{ev.preventDefault();const content=$("tx").value;if(!content||!cur)return;$("tx").value="";
 const r=await req("message",{chat_id:cur,content,client_msg_id:"c"+Date.now()+Math.random().toString(36).slice(2,8)});
 if(r.status==="ok"){addMsg(r.message);const c=chats.get(cur);if(c){c.last_message=r.message;drawChats();}}
 else alert(r.message||r.code);};
$("tx").oninput=()=>{const now=Date.now();if(cur&&now-lastTyping>2000){lastTyping=now;req("typing",{chat_id:cur});}};
$("fd").onsubmit=async ev=>{ev.preventDefault();const r=await req("create_chat",{user_id:$("du").value.trim().toLowerCase()});
 if(r.status!=="ok")return alert(r.message||r.code);$("du").value="";chats.set(r.chat.id,r.chat);openChat(r.chat.id);};
$("fg").onsubmit=async ev=>{ev.preventDefault();const member_ids=$("gm").value.split(",").map(s=>s.trim().toLowerCase()).filter(Boolean);
 const r=await req("create_group",{group_name:$("gn").value.trim(),member_ids});if(r.status!=="ok")return alert(r.message||r.code);
 $("gn").value="";$("gm").value="";chats.set(r.chat.id,r.chat);openChat(r.chat.id);};
connect();
</script></body></html>
"""#
}
