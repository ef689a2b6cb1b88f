// Wardline web pages: idle screen lock, confirmations, live updates over
// server-sent events, directory search. No inline script anywhere: the
// CSP forbids it. Everything from the server is inserted as text.
"use strict";
(function () {
  var body = document.body;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  // Confirmation before destructive admin actions.
  document.querySelectorAll("form.confirm").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm") || "Are you sure?")) e.preventDefault();
    });
  });

  // Idle lock: hide everything after a while without input. Unlocking
  // reloads the page, so the server decides whether the session still holds.
  var lockAfter = parseInt(body.getAttribute("data-idle-lock") || "0", 10) * 1000;
  var lock = document.getElementById("lock");
  if (lock && lockAfter > 0) {
    var last = Date.now();
    ["mousemove", "keydown", "pointerdown", "touchstart", "scroll"].forEach(function (ev) {
      window.addEventListener(ev, function () { if (!body.classList.contains("locked")) last = Date.now(); }, { passive: true });
    });
    setInterval(function () {
      if (!body.classList.contains("locked") && Date.now() - last >= lockAfter) {
        body.classList.add("locked");
        lock.hidden = false;
        var m = document.getElementById("msgs"); if (m) m.textContent = "";
      }
    }, 1000);
    document.getElementById("unlock").addEventListener("click", function () { window.location.reload(); });
  }

  function post(url, data) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(data) });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function clock(iso) {
    var d = new Date(iso);
    return ("0" + d.getUTCHours()).slice(-2) + ":" + ("0" + d.getUTCMinutes()).slice(-2);
  }

  var msgs = document.getElementById("msgs");
  if (msgs) msgs.scrollTop = msgs.scrollHeight;
  var openConv = msgs ? msgs.getAttribute("data-conv") : "";

  function addMessage(m) {
    if (document.querySelector('[data-msg="' + CSS.escape(m.id) + '"]')) return;
    var empty = msgs.querySelector(".empty"); if (empty) empty.remove();
    var li = el("li", "msg prio-" + m.priority + (m.mine ? " mine" : ""));
    li.setAttribute("data-msg", m.id);
    var head = el("div", "msg-head");
    head.appendChild(el("span", "msg-from", m.from_name));
    if (m.priority !== "normal") { head.appendChild(document.createTextNode(" ")); head.appendChild(el("span", "badge badge-" + m.priority, m.priority)); }
    head.appendChild(document.createTextNode(" "));
    var t = el("time", "", clock(m.sent_at)); t.setAttribute("datetime", m.sent_at); head.appendChild(t);
    li.appendChild(head);
    if (m.patient) li.appendChild(el("div", "msg-patient", m.patient));
    li.appendChild(el("div", "msg-body", m.body));
    if (m.mine && m.states) {
      var ul = el("ul", "states"); ul.setAttribute("aria-label", "Delivery");
      m.states.forEach(function (s) {
        var sl = el("li", "state state-" + s.state); sl.setAttribute("data-user", s.user);
        sl.appendChild(el("span", "state-user", s.user)); sl.appendChild(document.createTextNode(" "));
        sl.appendChild(el("span", "state-value", s.state)); ul.appendChild(sl);
      });
      li.appendChild(ul);
    }
    msgs.appendChild(li);
    msgs.scrollTop = msgs.scrollHeight;
  }

  function bumpUnread(conv) {
    var a = document.querySelector('.conv[data-conv="' + CSS.escape(conv) + '"]');
    if (!a) { return false; }
    var u = a.querySelector(".unread");
    var n = parseInt(u.getAttribute("data-unread") || "0", 10) + 1;
    u.setAttribute("data-unread", String(n)); u.textContent = String(n); u.hidden = false;
    u.setAttribute("aria-label", n + " unread");
    var li = a.parentNode, list = li.parentNode; list.insertBefore(li, list.firstChild);
    return true;
  }

  function setPreview(m) {
    var a = document.querySelector('.conv[data-conv="' + CSS.escape(m.conversation) + '"]');
    if (a) { var p = a.querySelector(".conv-preview"); if (p) p.textContent = m.body; }
  }

  // An alert that reached the user, or changed: shown with Accept and
  // Decline while it is open, removed once someone accepted it or it closed.
  var alerts = document.getElementById("alerts");
  function showAlert(a) {
    if (!alerts) return;
    var old = alerts.querySelector('[data-alert="' + CSS.escape(a.id) + '"]');
    if (!a.open) {
      if (old) old.remove();
      alerts.hidden = !alerts.querySelector(".alert");
      return;
    }
    var card = el("article", "alert prio-" + a.priority);
    card.setAttribute("data-alert", a.id); card.setAttribute("role", "alert");
    var main = el("div", "alert-main"), head = el("div", "alert-head");
    head.appendChild(el("span", "badge badge-" + a.priority, a.priority)); head.appendChild(document.createTextNode(" "));
    head.appendChild(el("span", "alert-kind", a.kind)); head.appendChild(document.createTextNode(" "));
    var t = el("time", "", clock(a.at)); t.setAttribute("datetime", a.at); head.appendChild(t);
    if (a.state === "exhausted") head.appendChild(el("span", "alert-note", "nobody accepted yet"));
    if (a.declined) head.appendChild(el("span", "alert-note", "you declined"));
    main.appendChild(head);
    main.appendChild(el("p", "alert-text", a.text));
    if (a.patient) main.appendChild(el("p", "alert-patient", a.patient));
    card.appendChild(main);
    var f = el("form", "alert-actions");
    f.method = "post"; f.action = "/app/alerts/" + encodeURIComponent(a.id);
    [["csrf", csrf], ["back", alerts.getAttribute("data-back") || "/app/"]].forEach(function (kv) {
      var i = el("input"); i.type = "hidden"; i.name = kv[0]; i.value = kv[1]; f.appendChild(i);
    });
    [["accept", "Accept", "btn btn-primary"], ["decline", "Decline", "btn"]].forEach(function (b) {
      var btn = el("button", b[2], b[1]); btn.type = "submit"; btn.name = "response"; btn.value = b[0]; f.appendChild(btn);
    });
    card.appendChild(f);
    if (old) alerts.replaceChild(card, old); else alerts.insertBefore(card, alerts.firstChild);
    alerts.hidden = false;
  }

  if (body.classList.contains("section-app") && window.EventSource) {
    var es = new EventSource("/api/v1/events");
    es.addEventListener("message", function (e) {
      var m = JSON.parse(e.data);
      setPreview(m);
      if (msgs && m.conversation === openConv) {
        addMessage(m);
        if (!m.mine && !body.classList.contains("locked")) post("/api/v1/messages/" + encodeURIComponent(m.id) + "/ack", { state: "read" });
      } else if (!m.mine) {
        post("/api/v1/messages/" + encodeURIComponent(m.id) + "/ack", { state: "delivered" });
        if (!bumpUnread(m.conversation)) {
          var list = document.getElementById("convs");
          if (list) { window.location.reload(); }
        }
      }
    });
    es.addEventListener("receipt", function (e) {
      var r = JSON.parse(e.data);
      var li = document.querySelector('[data-msg="' + CSS.escape(r.message) + '"] .state[data-user="' + CSS.escape(r.user) + '"]');
      if (!li) return;
      li.className = "state state-" + r.state;
      li.querySelector(".state-value").textContent = r.state;
    });
    es.addEventListener("alert", function (e) { showAlert(JSON.parse(e.data)); });
    es.addEventListener("signedout", function () { es.close(); window.location.assign("/login"); });
  }

  // Directory search for the compose form.
  var to = document.getElementById("to"), people = document.getElementById("people");
  if (to && people) {
    var timer = null;
    to.addEventListener("input", function () {
      clearTimeout(timer);
      var q = to.value.trim();
      if (q.length < 2) return;
      timer = setTimeout(function () {
        fetch("/api/v1/directory?q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (hits) {
            people.textContent = "";
            hits.forEach(function (h) {
              var o = document.createElement("option");
              o.value = h.login;
              o.textContent = (h.name || h.login) + (h.department ? " · " + h.department : "") + " (" + h.kind + ")";
              people.appendChild(o);
            });
          });
      }, 150);
    });
  }
})();
