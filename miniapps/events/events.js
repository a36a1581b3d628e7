// The organizers' check-in at the door: pick an event (and a session of its schedule), then
// scan tickets with Telegram's QR scanner where the client has one, or type the code. Every
// check-in goes into a queue kept in localStorage first and is sent from there, so a flaky
// connection loses nothing: what could not be sent waits and goes when the network is back
// (the server's check-in is idempotent, so sending one twice does no harm). The count of
// people checked in, the participants' list per session and the attendance export are here too.
import {
  _, api, appUrl, backControl, download, errorScreen, format, formatDate, h, haptic, inTelegram, notice, prefetch, section, spinner,
  start, useLocale, useTimeZone,
} from "../shared/glocal.js";

const root = document.getElementById("app");
const query = new URLSearchParams(location.search);
const RETRY_MS = 10000;
const DATE_TIME = { dateStyle: "medium", timeStyle: "short" };

let me = null;
let townId = null;
let event = null; // the open event (its staff view, with counts)
let sessionId = null; // null: the whole event
let flushing = false;
let retryTimer = null;

function positiveInt(value) {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : null;
}

function base() {
  return "/municipalities/" + townId + "/events";
}

// -- start -----------------------------------------------------------------------------

async function main() {
  const meRequest = prefetch("/me");
  if (!(await start())) return;
  window.addEventListener("online", () => flush());
  try {
    me = await meRequest;
    await useLocale(me.locale);
  } catch (error) {
    root.replaceChildren(errorScreen(error, () => location.reload()));
    return;
  }
  townId = positiveInt(query.get("town")) || me.current_municipality?.id || null;
  useTimeZone(me.current_municipality?.timezone);
  if (!townId) {
    root.replaceChildren(h("h1", {}, _("Check-in")), h("p", {}, _("Choose your town in the services first.")),
      h("a", { class: "button", href: appUrl("hub/") }, _("Services")));
    return;
  }
  const eventId = positiveInt(query.get("event"));
  if (eventId) await openEvent(eventId);
  else await listEvents();
}

// -- the events ------------------------------------------------------------------------

async function listEvents() {
  root.replaceChildren(spinner());
  let events;
  try {
    events = await api(base());
  } catch (error) {
    root.replaceChildren(errorScreen(error, listEvents));
    return;
  }
  const items = events.map((e) =>
    h("button", { type: "button", class: "row", "data-id": e.id, onclick: () => openEvent(e.id) },
      h("strong", {}, e.title), h("span", { class: "hint" }, " · " + formatDate(e.starts_at, DATE_TIME))),
  );
  root.replaceChildren(
    h("h1", {}, _("Check-in")),
    events.length ? section(_("Coming events"), { class: "block event-list" }, ...items) : h("p", { class: "hint" }, _("No events are coming up.")),
  );
}

async function openEvent(id) {
  root.replaceChildren(spinner());
  try {
    event = await api(base() + "/" + id + "/staff");
  } catch (error) {
    root.replaceChildren(errorScreen(error, () => openEvent(id)));
    return;
  }
  useTimeZone(event.timezone);
  sessionId = null;
  renderEvent();
  flush();
}

// -- check-in screen -------------------------------------------------------------------

function canScan() {
  const webApp = window.Telegram?.WebApp;
  return inTelegram() && typeof webApp?.showScanQrPopup === "function" && webApp.isVersionAtLeast("6.4");
}

function renderEvent() {
  const sessionSelect = h("select", { id: "session", "aria-label": _("What you check in for"), onchange: (e) => chooseSession(e.target.value) },
    h("option", { value: "" }, _("The whole event")),
    ...event.sessions.map((s) => h("option", { value: String(s.id) }, s.title + " · " + formatDate(s.starts_at, DATE_TIME))),
  );
  const input = h("input", {
    id: "code", type: "text", inputmode: "text", autocomplete: "off", autocapitalize: "characters", maxlength: "200",
    placeholder: _("Ticket code"), "aria-label": _("Ticket code"),
  });
  const form = h("form", { class: "code-form", onsubmit: (e) => {
    e.preventDefault();
    const code = input.value.trim();
    if (!code) return;
    input.value = "";
    submit(code);
  } }, input, h("button", { type: "submit", class: "button" }, _("Check in")));
  const back = backControl(() => {
    back.drop();
    event = null;
    listEvents();
  }, _("Events"));
  const parts = [
    back.element,
    h("h1", {}, event.title),
    h("p", { class: "hint" }, formatDate(event.starts_at, DATE_TIME) + (event.venue_name ? " · " + event.venue_name : "")),
    section(null, {}, event.sessions.length ? h("div", { class: "counter" }, sessionSelect) : null,
      h("div", { class: "counter" }, h("strong", { id: "count" }, String(event.counts.checked_in)),
        h("span", { class: "hint", id: "of" }, format(_("checked in of {n} registered"), { n: event.counts.registered })))),
    canScan() ? h("button", { type: "button", class: "button", id: "scan", onclick: scan }, _("📷 Scan a ticket")) : null,
    section(canScan() ? _("Or type the code") : _("Type the ticket's code"), {}, form),
    h("p", { id: "result", class: "result", role: "status", "aria-live": "polite", hidden: true }),
    h("p", { id: "queued", class: "queued", hidden: true }),
    section(_("Participants"), { id: "people-block" }, h("ul", { id: "people", class: "people" })),
    h("div", { class: "main-action" },
      h("button", { type: "button", class: "button secondary", onclick: () => exportAs("csv") }, _("Attendance, CSV")),
      h("button", { type: "button", class: "button secondary", onclick: () => exportAs("xlsx") }, _("Attendance, Excel"))),
  ];
  root.replaceChildren(...parts.filter(Boolean));
  renderQueue();
  loadPeople();
}

async function chooseSession(value) {
  sessionId = positiveInt(value);
  await loadPeople();
}

async function loadPeople() {
  const list = document.getElementById("people");
  if (!list) return;
  try {
    const data = await api(base() + "/" + event.id + "/participants" + (sessionId ? "?session_id=" + sessionId : ""));
    setCount(data.counts.checked_in);
    list.replaceChildren(...data.participants.map((p) =>
      h("li", { "data-code": p.code, "data-in": String(Boolean(p.checked_in_at)) },
        h("span", {}, p.name + (p.team ? " · " + p.team : "")),
        h("span", { class: "mark" }, p.checked_in_at ? "✓ " + formatDate(p.checked_in_at, { timeStyle: "short" }) : p.code)),
    ));
  } catch (error) {
    if (error.status !== 0) notice(error.message, "error");
  }
}

function setCount(n) {
  const count = document.getElementById("count");
  if (count) count.textContent = String(n);
}

function showResult(kind, text) {
  const result = document.getElementById("result");
  if (!result) return;
  result.dataset.kind = kind;
  result.textContent = text;
  result.hidden = false;
}

/** Telegram's scanner: the popup closes on the first code read, and that code is checked in. */
function scan() {
  window.Telegram.WebApp.showScanQrPopup({ text: _("Point the camera at the ticket's QR code") }, (text) => {
    if (text) submit(text);
    return true;
  });
}

// -- the queue -------------------------------------------------------------------------
// Kept per town and event, so a reopened app sends what an earlier launch could not.

function queueKey() {
  return "glocal:events:queue:" + townId + ":" + event.id;
}

function queue() {
  try {
    const items = JSON.parse(localStorage.getItem(queueKey()) || "[]");
    return Array.isArray(items) ? items : [];
  } catch {
    return [];
  }
}

function saveQueue(items) {
  try {
    localStorage.setItem(queueKey(), JSON.stringify(items));
  } catch {
    // Storage full or off: the check-in still goes out while the page is open.
  }
}

function renderQueue() {
  const waiting = queue().length;
  const line = document.getElementById("queued");
  if (!line) return;
  line.hidden = waiting === 0;
  line.textContent = format(_("Waiting for the network: {n}. They are sent as soon as the connection is back."), { n: waiting });
}

function submit(code) {
  const items = queue();
  items.push({ code, session_id: sessionId, at: new Date().toISOString() });
  saveQueue(items);
  renderQueue();
  flush();
}

async function flush() {
  if (flushing || !event) return;
  flushing = true;
  clearTimeout(retryTimer);
  try {
    for (let items = queue(); items.length; items = queue()) {
      const item = items[0];
      let outcome = null;
      try {
        outcome = await api(base() + "/" + event.id + "/check-ins", { method: "POST", body: item });
      } catch (error) {
        // No network, or a launch too old: it waits (a new launch sends it). Anything else is
        // the server's answer about this ticket: shown, and the item is done.
        if (error.status === 0 || error.status === 401) {
          showResult("queued", format(_("No connection: {code} will be checked in when the network is back."), { code: item.code }));
          retryTimer = setTimeout(flush, RETRY_MS);
          break;
        }
        showResult("error", error.message);
        haptic("error");
      }
      saveQueue(queue().slice(1));
      renderQueue();
      if (outcome) {
        showResult(outcome.result, outcome.message);
        haptic(outcome.result === "checked_in" ? "success" : "warning");
        if ((item.session_id || null) === sessionId) setCount(outcome.checked_in);
      }
    }
  } finally {
    flushing = false;
    renderQueue();
  }
  if (!queue().length) loadPeople();
}

// -- export ----------------------------------------------------------------------------

async function exportAs(format_) {
  try {
    await download(base() + "/" + event.id + "/attendance/export?format=" + format_, "attendance." + format_);
  } catch (error) {
    notice(error.message, "error");
  }
}

main();
