// pystatus web client: live updates over server-sent events, theme, notifications, paging.
// Served as a file (the Content-Security-Policy allows no inline script). Text arrives in
// server-rendered, escaped HTML; this script never builds markup from strings.
"use strict";

(function () {
  const root = document.documentElement;
  const saved = localStorage.getItem("pystatus-theme");
  if (saved) root.dataset.theme = saved;

  function themeLabel(button) {
    const dark = root.dataset.theme === "dark" ||
      (!root.dataset.theme && matchMedia("(prefers-color-scheme: dark)").matches);
    button.textContent = dark ? "Light theme" : "Dark theme";
  }

  // Swap the parts of the page that change for the same parts of a fresh copy. Events that
  // arrive while a copy is on its way ask for one more copy, not one each.
  let fetching = null;
  let again = false;
  async function fetchAndSwap(url) {
    const answer = await fetch(url || location.href, { credentials: "same-origin" });
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
    for (const id of ["chats", "requests-box", "history", "node-box"]) {
      const now = document.getElementById(id);
      const next = fresh.getElementById(id);
      if (now && next) now.replaceWith(next);
    }
  }
  async function refresh(url) {
    if (fetching) {
      again = true;
      return fetching;
    }
    fetching = (async function () {
      try {
        do {
          again = false;
          await fetchAndSwap(url);
        } while (again);
      } finally {
        fetching = null;
      }
    })();
    return fetching;
  }

  let historyUrl = null; // the page with older messages, once paged
  let paging = false;
  async function older(link) {
    if (paging) return;
    paging = true;
    const history = document.getElementById("history");
    const before = history ? history.scrollHeight - history.scrollTop : 0;
    historyUrl = link.href;
    try {
      await refresh(link.href);
    } finally {
      paging = false;
    }
    const after = document.getElementById("history");
    if (after) after.scrollTop = after.scrollHeight - before;
  }

  function notify(data) {
    if (!document.hidden || data.outgoing || data.kind !== "message") return;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    new Notification("pystatus", { body: "New message in " + data.chat });
  }

  function scrollDown() {
    const history = document.getElementById("history");
    if (history) history.scrollTop = history.scrollHeight;
  }

  document.addEventListener("DOMContentLoaded", function () {
    const theme = document.getElementById("theme");
    if (theme) {
      themeLabel(theme);
      theme.addEventListener("click", function () {
        const dark = theme.textContent === "Dark theme";
        root.dataset.theme = dark ? "dark" : "light";
        localStorage.setItem("pystatus-theme", root.dataset.theme);
        themeLabel(theme);
      });
    }
    const bell = document.getElementById("notify");
    if (bell) {
      bell.addEventListener("click", function () {
        if ("Notification" in window) Notification.requestPermission();
      });
    }
    // Delegated: #history and its link are replaced by every refresh.
    document.addEventListener("click", function (event) {
      const link = event.target.closest ? event.target.closest("#older") : null;
      if (link) {
        event.preventDefault();
        older(link);
      }
    });
    document.addEventListener("scroll", function (event) {
      const link = document.getElementById("older");
      if (link && event.target.id === "history" && event.target.scrollTop < 40) older(link);
    }, { capture: true, passive: true });
    scrollDown();
    if (!document.getElementById("chats")) return; // locked: no stream
    const source = new EventSource("/events");
    source.addEventListener("chat", function (event) {
      const data = JSON.parse(event.data);
      notify(data);
      refresh(historyUrl).then(function () {
        if (data.kind === "message") scrollDown();
        document.body.dataset.events = String(Number(document.body.dataset.events || 0) + 1);
      });
    });
    source.addEventListener("open", function () { document.body.dataset.live = "1"; });
  });
})();
