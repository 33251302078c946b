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
    for (const id of ["chats", "groups", "communities", "requests-box", "community-box", "history",
      "members-box", "node-box"]) {
      const now = document.getElementById(id);
      const next = fresh.getElementById(id);
      if (!now || !next) continue;
      if (now.open) next.open = true; // a disclosure the user opened stays open
      // What the user was typing in the part (a channel's name, a member's key) stays.
      for (const field of now.querySelectorAll("input[id], textarea[id]")) {
        const twin = next.querySelector("#" + CSS.escape(field.id));
        if (!twin) continue;
        if (field.type === "checkbox") twin.checked = field.checked;
        else twin.value = field.value;
      }
      const focused = document.activeElement && now.contains(document.activeElement)
        ? document.activeElement.id : "";
      now.replaceWith(next);
      if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
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
          try {
            await fetchAndSwap(url);
          } catch (error) {
            // The server is away (a restart): the stream's reconnection fetches again.
            return;
          }
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
    // Named as the sidebar names the chat (its list item's label), never by message text.
    let name = "a chat";
    for (const link of document.querySelectorAll(".sidebar li > a")) {
      if (new URL(link.href).searchParams.get("chat") === data.chat) {
        name = link.parentElement.getAttribute("aria-label") || name;
      }
    }
    new Notification("pystatus", { body: "New message in " + name });
  }

  // Sending: the composer posts with fetch and the page stays (no reload per message); the
  // server answers 204 and the conversation is fetched again. Without script the form posts
  // and the server answers 303 back to the page.
  let sending = false;
  async function send(form) {
    if (sending) return;
    sending = true;
    const box = form.querySelector("textarea");
    try {
      const answer = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
        headers: { "x-pystatus-fetch": "1" },
      });
      const status = document.getElementById("send-status");
      if (!answer.ok) {
        if (status) status.textContent = await answer.text();
        return;
      }
      if (status) status.textContent = "";
      box.value = "";
      for (const gone of form.querySelectorAll("input[name=response_to], .replying")) gone.remove();
      const url = new URL(location.href);
      if (url.searchParams.has("reply")) {
        url.searchParams.delete("reply");
        history.replaceState(null, "", url.href);
      }
      await refresh(historyUrl);
      scrollDown();
      box.focus();
    } finally {
      sending = false;
    }
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
    document.addEventListener("submit", function (event) {
      const form = event.target;
      if (form.id !== "composer" || !window.fetch) return;
      event.preventDefault();
      send(form);
    });
    // Enter sends, Shift+Enter makes a new line.
    document.addEventListener("keydown", function (event) {
      const target = event.target;
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing &&
          target.matches && target.matches(".composer textarea")) {
        event.preventDefault();
        if (target.value.trim()) target.form.requestSubmit();
      }
      // Escape closes the open disclosure (menu) the focus is in, and focuses its summary.
      if (event.key === "Escape") {
        const open = target.closest ? target.closest("details[open]") : null;
        if (open) {
          open.open = false;
          open.querySelector("summary").focus();
        }
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
    // After the stream broke and came back, what changed meanwhile was told to no one:
    // fetch the page once.
    let opened = false;
    source.addEventListener("open", function () {
      if (opened) refresh(historyUrl);
      opened = true;
      document.body.dataset.live = "1";
    });
  });
})();
