"use strict";
// The phone page. State arrives as server-sent events; the lamp and LEDs are
// animated locally with the same timing rule as hal.Pattern.At.
(function () {
  // With http.token set, the page is reached after logging in: the session
  // cookie goes with every request; the token is never in a URL.
  const $ = (id) => document.getElementById(id);
  const demo = document.body.dataset.demo === "true";
  let state = null;
  let offset = 0; // server clock - local clock, ms
  let displayVersion = null;
  let tone = "";

  // patternAt mirrors hal.Pattern.At.
  function patternAt(p, t) {
    const c = p.cadence_ms || [];
    let period = 0;
    for (const d of c) period += d;
    if (period <= 0) return p.on && c.length === 0;
    if (t < 0) t = 0;
    t %= period;
    for (let i = 0; i < c.length; i++) {
      if (t < c[i]) return i % 2 === 0;
      t -= c[i];
    }
    return false;
  }

  function animate() {
    if (state) {
      const now = Date.now() + offset;
      const lamp = $("lamp");
      const lit = patternAt(state.lamp, now - state.lamp.since_ms);
      lamp.dataset.lit = lit ? "1" : "0";
      lamp.dataset.pattern = state.lamp.name;
      (state.leds || []).forEach((p, i) => {
        const el = document.querySelector('.led[data-index="' + i + '"]');
        if (el) el.dataset.lit = patternAt(p, now - p.since_ms) ? "1" : "0";
      });
    }
    requestAnimationFrame(animate);
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("data-")) e.setAttribute(k, v);
      else if (k === "onclick") e.onclick = v;
      else e[k] = v;
    }
    for (const k of kids) e.append(k);
    return e;
  }

  function mailboxBadge(a) {
    if (a.unconfirmed) return el("span", { class: "badge unknown" }, "? last known " + (a.waiting === "yes" ? a.new + " new" : "no new") + ", unconfirmed, " + age(a.age_s) + " old");
    if (!a.known) return el("span", { class: "badge unknown" }, a.waiting === "yes" ? "? was waiting" : "? unknown");
    if (a.urgent_new > 0) return el("span", { class: "badge urgent" }, a.new + " new (" + a.urgent_new + " urgent)");
    if (a.waiting === "yes") return el("span", { class: "badge yes" }, a.new + " new");
    return el("span", { class: "badge" }, "no new" + (a.old ? " · " + a.old + " old" : ""));
  }
  function age(s) {
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return Math.round(s / 60) + " min";
    if (s < 172800) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " d";
  }
  function healthBadge(a) {
    const good = a.health === "subscribed" || a.health === "registered";
    const bad = ["auth failed", "unreachable", "rejected", "stale"].includes(a.health);
    let t = a.health;
    // A success reason ("subscribe: 200 OK") explains nothing about a bad state.
    if (a.last_reason && !good && !(a.last_status >= 200 && a.last_status < 300)) t += " · " + a.last_reason;
    return el("span", { class: "badge " + (good ? "ok" : bad ? "bad" : "") }, t);
  }

  function render(s) {
    if (state && s.now_ms < state.now_ms) return; // out of order
    state = s;
    offset = s.now_ms - Date.now();
    $("lampdesc").textContent = s.lamp.describe;
    $("why").textContent = s.why || "";
    // What does not work as configured (a device that did not open, ...).
    const probs = s.problems || [];
    $("problems").hidden = probs.length === 0;
    $("problems").replaceChildren(...probs.map((p) => el("li", {}, "problem: " + p)));
    // LEDs
    const leds = $("leds");
    if (leds.childElementCount !== (s.leds || []).length) {
      leds.replaceChildren(...(s.leds || []).map((p, i) =>
        el("div", { class: "ledrow" }, el("span", { class: "led", "data-index": String(i) }), el("span", { class: "lbl" }, ""))));
    }
    (s.leds || []).forEach((p, i) => {
      leds.children[i].querySelector(".lbl").textContent = p.label || (p.account ? p.account : "LED " + (i + 1));
      leds.children[i].title = p.account ? p.account + ": " + p.describe : "unused";
    });
    // display
    if (s.display.present && s.display.version !== displayVersion) {
      displayVersion = s.display.version;
      $("display").src = "display.png?v=" + encodeURIComponent(displayVersion);
      $("display").dataset.version = displayVersion;
    }
    // accounts
    $("accounts").replaceChildren(...(s.accounts || []).map((a) =>
      el("tr", { "data-account": a.name },
        el("td", {}, el("b", {}, a.label), el("div", { class: "aor" }, a.aor)),
        el("td", {}, mailboxBadge(a), el("div", { class: "aor source" }, a.source === "none" ? "" : "source: " + a.source)),
        el("td", {}, healthBadge(a)))));
    // hook and tone
    const hs = $("handset");
    hs.classList.toggle("off", s.hook.off_hook);
    hs.setAttribute("aria-pressed", s.hook.off_hook ? "true" : "false");
    hs.title = s.hook.movable ? (s.hook.off_hook ? "hang up" : "lift the handset") : "the handset of a real device";
    $("hookstate").textContent = s.hook.off_hook ? "off-hook" : "on-hook";
    $("hookstate").classList.toggle("off", s.hook.off_hook);
    $("tonestate").textContent = s.hook.tone ? "♪ " + (s.hook.tone === "stutter" ? "stutter dial tone (messages waiting)" : "dial tone") : "";
    setTone(s.hook.tone || "");
    // the analog line (sim FXS port): what a phone on it would see
    if (s.line) {
      $("lineline").hidden = false;
      const ls = $("linestate");
      ls.dataset.mwi = s.line.mwi ? "1" : "0";
      ls.textContent = s.line.ring ? "ringing" :
        (s.line.reversed ? "polarity reversed" : "forward") +
        (s.line.high_voltage ? " + neon voltage" : "") +
        (s.line.mwi ? " — MWI on line" : "");
    }
    // demo
    if (demo && s.demo) renderDemo(s.demo);
    if (s.log && s.log.length) {
      $("logcard").hidden = false;
      $("log").replaceChildren(...s.log.slice().reverse().map((e) =>
        el("li", {}, new Date(e.at).toLocaleTimeString() + "  " + e.device + "  " + e.what)));
    }
  }

  function setTone(t) {
    if (t === tone) return;
    tone = t;
    const a = $("tone");
    a.dataset.tone = t;
    if (!t) { a.pause(); a.removeAttribute("src"); a.load(); return; }
    a.src = "tone/" + t + ".wav";
    a.play().catch(() => {});
  }

  function renderDemo(d) {
    $("demo").hidden = false;
    $("srvaddr").textContent = "udp " + d.addr;
    $("srvstate").textContent = d.running ? "running" : "stopped";
    $("srvstate").className = "pill " + (d.running ? "up" : "down");
    const b = $("srvbtn");
    b.textContent = d.running ? "Stop demo server" : "Start demo server";
    b.className = d.running ? "warn" : "primary";
    b.dataset.running = d.running ? "1" : "0";
    // Rows are built once and updated in place, so a button being clicked
    // is never replaced under the pointer.
    const box = $("mailboxes");
    for (const m of d.mailboxes) {
      let row = box.querySelector('.mbox[data-user="' + m.user + '"]');
      if (!row) {
        row = el("div", { class: "mbox", "data-user": m.user },
          el("div", { class: "name" }, el("span", { class: "lbl" }), el("small", {})),
          el("div", { class: "counts" }),
          button("Leave a voicemail", m.user, "leave", "primary"),
          button("Urgent", m.user, "leave-urgent", ""),
          button("Listen", m.user, "listen", ""),
          button("Delete", m.user, "delete", ""));
        box.append(row);
      }
      row.querySelector(".name .lbl").textContent = m.label;
      row.querySelector(".name small").textContent = "mailbox " + m.user + (m.subscriptions ? " · subscribed" : m.registered ? " · registered" : "");
      row.querySelector(".counts").textContent = m.new + " new, " + m.old + " old" + (m.urgent_new ? " (" + m.urgent_new + " urgent)" : "");
    }
  }
  function button(text, user, action, cls) {
    return el("button", { class: cls, "data-user": user, "data-action": action,
      onclick: () => post("api/demo/mailbox/" + encodeURIComponent(user) + "/" + action, {}) }, text);
  }

  async function post(url, body) {
    try {
      const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      // The change arrives as a server-sent event; the response is not
      // rendered, so an older picture can never overwrite a newer one.
      if (!r.ok) console.warn(url, r.status, await r.text());
    } catch (e) { console.warn(url, e); }
  }

  $("handset").onclick = () => {
    if (!state || !state.hook.movable) return;
    post("api/hook", { off_hook: !state.hook.off_hook });
  };
  $("srvbtn").onclick = () => post("api/demo/server", { running: $("srvbtn").dataset.running !== "1" });

  function connect() {
    const es = new EventSource("api/events");
    es.addEventListener("state", (ev) => { $("conn").textContent = "live"; $("conn").className = "conn ok"; render(JSON.parse(ev.data)); });
    es.onerror = () => { $("conn").textContent = "reconnecting…"; $("conn").className = "conn"; };
  }
  if (demo) $("subtitle").textContent = "desktop demo: leave a voicemail and watch the lamp";
  connect();
  requestAnimationFrame(animate);
})();
