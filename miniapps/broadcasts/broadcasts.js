// Organizers' broadcasts: the town's list with live progress, the composer (formatted text,
// a photo, buttons, the category residents can mute, who gets it and how many they are),
// a preview sent to oneself, send now or at a time, and one broadcast's progress and report
// with pause, resume and cancel. The server checks everything again; the page only helps.
import {
  _, act, api, appUrl, backControl, errorScreen, field, format, formatDate, h, haptic, mainButton, notice, prefetch, section, spinner,
  start, useLocale, useTimeZone,
} from "../shared/glocal.js";

const root = document.getElementById("app");
const query = new URLSearchParams(location.search);
const COUNT_DELAY_MS = 400;
const POLL_MS = 2000;
const BUTTON_KINDS = ["url", "deeplink", "miniapp"];

let me = null;
let townId = null;
let options = null;
let leave = null; // tears down the current view (Telegram buttons, timers)

function positiveInt(value) {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : null;
}

function base() {
  return "/municipalities/" + townId + "/broadcasts";
}

function statusTitle(status) {
  const titles = {
    draft: _("Draft"), scheduled: _("Scheduled"), running: _("Sending"), paused: _("Paused"),
    cancelled: _("Cancelled"), done: _("Done"),
  };
  return titles[status] || status;
}

function kindTitle(kind) {
  return { url: _("Link"), deeplink: _("Deep link into the bot"), miniapp: _("Mini App") }[kind] || kind;
}

function setView(...children) {
  if (leave) leave();
  leave = null;
  root.replaceChildren(...children);
}

// -- start -----------------------------------------------------------------------------

async function main() {
  const meRequest = prefetch("/me");
  if (!(await start())) return;
  window.addEventListener("popstate", route);
  try {
    me = await meRequest;
    townId = positiveInt(query.get("town")) || me.current_municipality?.id || null;
    await useLocale(me.locale);
    if (!townId) {
      setView(h("h1", {}, _("Broadcasts")), h("p", {}, _("Choose your town in the services first.")),
        h("a", { class: "button", href: appUrl("hub/") }, _("Services")));
      return;
    }
    useTimeZone(me.current_municipality?.timezone);
    options = await api(base() + "/options");
  } catch (error) {
    setView(errorScreen(error, () => location.reload()));
    return;
  }
  route();
}

function go(params) {
  const url = new URL(location.href);
  url.search = "";
  url.searchParams.set("town", townId);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  history.pushState({ inApp: true }, "", url.href);
  route();
}

function route() {
  const params = new URLSearchParams(location.search);
  const id = positiveInt(params.get("broadcast"));
  if (params.get("edit") === "new") showComposer(null);
  else if (id && params.get("edit")) showComposer(id);
  else if (id) showReport(id);
  else showList();
}

// -- the list --------------------------------------------------------------------------

function progressLine(p) {
  return format(_("{sent} of {total} sent"), { sent: p.sent, total: p.total });
}

async function showList() {
  setView(spinner());
  let items;
  try {
    items = await api(base());
  } catch (error) {
    setView(errorScreen(error, showList));
    return;
  }
  const list = h("ul", { class: "appeals", id: "broadcasts" }, ...items.map((b) => h("li", {},
    h("a", { class: "appeal", href: "#", "data-id": b.id, onclick: (e) => { e.preventDefault(); go({ broadcast: b.id }); } },
      h("div", { class: "town-line" }, h("strong", {}, b.title || b.text.replace(/<[^>]*>/g, "").slice(0, 60)),
        h("span", { class: "status" }, statusTitle(b.status))),
      h("div", { class: "appeal-bottom" }, b.progress.total ? progressLine(b.progress) : formatDate(b.created_at))),
  )));
  const container = h("div", {});
  setView(h("h1", {}, _("Broadcasts")), items.length ? list : h("p", { class: "empty hint" }, _("No broadcasts yet.")), container);
  leave = mainButton(_("New broadcast"), () => go({ edit: "new" }), container);
}

// -- the composer ----------------------------------------------------------------------

async function showComposer(id) {
  setView(spinner());
  let draft = { title: "", text: "", category: "news", segment: { kind: "town", roles: [] }, buttons: [], paid: false };
  let hasPhoto = false;
  if (id) {
    try {
      const report = await api(base() + "/" + id);
      draft = report.broadcast;
      hasPhoto = draft.has_photo;
    } catch (error) {
      setView(errorScreen(error, () => showComposer(id)));
      return;
    }
  }
  let broadcastId = id;
  let photoFile = null;
  const title = h("input", { id: "title", maxlength: 200, value: draft.title });
  const text = h("textarea", { id: "text", rows: 8, maxlength: 20000 });
  text.value = draft.text;
  const category = h("select", { id: "category" },
    ...options.categories.map((c) => h("option", { value: c.code, selected: c.code === draft.category }, c.title)));
  const roleBoxes = options.roles.map((r) => h("label", { class: "chip" },
    h("input", { type: "checkbox", value: r.code, checked: (draft.segment.roles || []).includes(r.code), onchange: recount }), " ", r.title));
  const audience = h("select", { id: "audience", onchange: recount },
    h("option", { value: "" }, _("The whole town (or the roles above)")),
    ...options.audiences.map((a) => h("option", { value: a.name, selected: a.name === draft.segment.audience }, a.title)));
  const audienceRef = h("input", { id: "audience-ref", type: "number", min: 1, value: draft.segment.ref || "", oninput: recount });
  const count = h("p", { id: "count", class: "hint", "aria-live": "polite" });
  const paid = h("input", { type: "checkbox", id: "paid", checked: draft.paid });
  const photo = h("input", { type: "file", id: "photo", accept: "image/jpeg,image/png,image/webp",
    onchange: () => { photoFile = photo.files[0] || null; } });
  const photoState = h("span", { class: "hint" }, hasPhoto ? _("A photo is attached.") : "");
  const when = h("input", { type: "datetime-local", id: "when" });
  const rows = h("div", { id: "buttons" });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });

  function buttonRow(b = { text: "", kind: "url", value: "" }) {
    const row = h("div", { class: "button-row searchbar" },
      h("input", { class: "b-text", placeholder: _("Caption"), maxlength: 64, value: b.text }),
      h("select", { class: "b-kind" }, ...BUTTON_KINDS.map((k) => h("option", { value: k, selected: k === b.kind }, kindTitle(k)))),
      h("input", { class: "b-value", placeholder: "https://…", maxlength: 512, value: b.value }),
      h("button", { type: "button", class: "icon-button", "aria-label": _("Remove"), onclick: () => row.remove() }, "✕"));
    rows.append(row);
  }
  for (const row of draft.buttons) for (const b of row) buttonRow(b);

  function segment() {
    if (audience.value) return { kind: "audience", audience: audience.value, ref: positiveInt(audienceRef.value) };
    return { kind: "town", roles: roleBoxes.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value) };
  }

  let countTimer = null;
  function recount() {
    clearTimeout(countTimer);
    countTimer = setTimeout(async () => {
      const s = segment();
      if (s.kind === "audience" && !s.ref) { count.textContent = ""; return; }
      try {
        const r = await api(base() + "/count", { method: "POST", body: s });
        count.textContent = format(_("Recipients now: {n}"), { n: r.recipients });
      } catch (e) {
        count.textContent = e.message;
      }
    }, COUNT_DELAY_MS);
  }

  function body() {
    const buttons = [...rows.querySelectorAll(".button-row")]
      .map((r) => ({ text: r.querySelector(".b-text").value.trim(), kind: r.querySelector(".b-kind").value, value: r.querySelector(".b-value").value.trim() }))
      .filter((b) => b.text || b.value)
      .map((b) => [b]);
    return { title: title.value.trim(), text: text.value, category: category.value, segment: segment(), buttons, paid: paid.checked };
  }

  async function save() {
    error.hidden = true;
    try {
      const saved = broadcastId
        ? await api(base() + "/" + broadcastId, { method: "PUT", body: body() })
        : await api(base(), { method: "POST", body: body() });
      broadcastId = saved.id;
      if (photoFile) {
        const data = await new Promise((resolve, reject) => {
          const reader = new FileReader();
          reader.onload = () => resolve(String(reader.result).split(",")[1]);
          reader.onerror = reject;
          reader.readAsDataURL(photoFile);
        });
        await api(base() + "/" + broadcastId + "/photo", { method: "PUT", body: { filename: photoFile.name, mime: photoFile.type, data } });
        photoFile = null;
        photoState.textContent = _("A photo is attached.");
      }
      return saved;
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      haptic("error");
      throw e;
    }
  }

  const actions = h("div", { class: "quick-actions" },
    h("button", { type: "button", class: "button secondary", id: "save", onclick: act(async () => { await save(); notice(_("Draft saved.")); }) }, _("Save draft")),
    h("button", { type: "button", class: "button secondary", id: "preview", onclick: act(async () => {
      await save();
      await api(base() + "/" + broadcastId + "/preview", { method: "POST" });
      notice(_("A preview is on its way to your chat with the bot."));
    }) }, _("Preview to me")),
    h("button", { type: "button", class: "button secondary", id: "schedule", onclick: act(async () => {
      if (!when.value) { notice(_("Choose the date and time first."), "error"); return; }
      await save();
      await api(base() + "/" + broadcastId + "/schedule", { method: "POST", body: { at: new Date(when.value).toISOString() } });
      go({ broadcast: broadcastId });
    }) }, _("Schedule")),
  );
  const container = h("div", {});
  setView(
    backControl(() => history.back(), _("Broadcasts")),
    h("h1", {}, id ? _("Edit the broadcast") : _("New broadcast")),
    section(null, {},
      field(_("Title (only organizers see it)"), title),
      field(_("Message"), text, _("Telegram formatting: <b>bold</b>, <i>italic</i>, <a href=\"https://…\">link</a>; up to 4,096 characters, 1,024 under a photo.")),
      field(_("Photo"), photo, photoState),
      field(_("Category (residents can mute it)"), category)),
    section(_("Buttons"), {}, rows, h("button", { type: "button", class: "link", id: "add-button", onclick: () => buttonRow() }, _("Add a button"))),
    section(_("Who gets it"), {}, h("div", { class: "chips", id: "roles" }, ...roleBoxes),
      options.audiences.length ? field(_("Or a group"), audience) : null,
      options.audiences.length ? field(_("Its number"), audienceRef) : null, count),
    options.paid_allowed ? section(null, {}, h("label", { class: "chip" }, paid, " ", _("Paid broadcast (up to 1,000 a second, billed in Stars)"))) : null,
    section(null, {}, field(_("Send at"), when)),
    error, actions, container,
  );
  recount();
  leave = mainButton(_("Send now"), act(async () => {
    await save();
    await api(base() + "/" + broadcastId + "/start", { method: "POST" });
    haptic("success");
    go({ broadcast: broadcastId });
  }), container);
}

// -- one broadcast: progress and report ---------------------------------------------------

async function showReport(id) {
  setView(spinner());
  let timer = null;
  const view = h("div", { id: "report" });
  const container = h("div", {});
  setView(backControl(() => go({}), _("Broadcasts")), view, container);
  let removeMain = null;
  leave = () => { clearTimeout(timer); removeMain?.(); };

  async function move(action) {
    await api(base() + "/" + id + "/" + action, { method: "POST" });
    await refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    let report;
    try {
      report = await api(base() + "/" + id);
    } catch (error) {
      view.replaceChildren(errorScreen(error, refresh));
      return;
    }
    const b = report.broadcast;
    const p = b.progress;
    const done = p.total ? Math.round(((p.total - p.remaining) / p.total) * 100) : 0;
    const facts = [
      [_("Sent"), p.sent], [_("Blocked the bot"), p.blocked], [_("Failed"), p.failed],
      [_("Uncertain (in flight when a worker stopped)"), p.uncertain], [_("Muted this category"), p.muted], [_("Remaining"), p.remaining],
    ];
    view.replaceChildren(
      h("h1", {}, b.title || _("Broadcast")),
      h("p", { class: "status", id: "status" }, statusTitle(b.status),
        b.scheduled_at && b.status === "scheduled" ? " · " + formatDate(b.scheduled_at, { dateStyle: "medium", timeStyle: "short" }) : ""),
      p.total ? h("progress", { id: "progress", max: 100, value: done, "aria-label": format(_("{n}% delivered"), { n: done }) }) : null,
      section(null, {}, h("dl", { class: "facts", id: "counts" }, ...facts.flatMap(([k, v]) => [h("dt", { class: "hint" }, k), h("dd", {}, String(v))]))),
      report.uncertain.length ? section(_("Maybe delivered, not repeated"), {},
        h("p", { class: "hint" }, _("Their message was in flight when a worker stopped: Telegram may have delivered it. It is never sent twice.")),
        h("ul", {}, ...report.uncertain.map((u) => h("li", {}, String(u.chat_id))))) : null,
      section(_("Message"), {}, h("p", { class: "appeal-text" }, b.text.replace(/<[^>]*>/g, ""))),
      h("div", { class: "quick-actions" },
        b.status === "running" ? h("button", { type: "button", class: "button secondary", id: "pause", onclick: act(() => move("pause")) }, _("Pause")) : null,
        b.status === "paused" ? h("button", { type: "button", class: "button secondary", id: "resume", onclick: act(() => move("resume")) }, _("Resume")) : null,
        ["draft", "scheduled", "running", "paused"].includes(b.status)
          ? h("button", { type: "button", class: "button secondary", id: "cancel", onclick: act(async () => {
            if (window.confirm(_("Cancel the broadcast? Those who got it keep it; nobody else will."))) await move("cancel");
          }) }, _("Cancel")) : null,
      ),
    );
    removeMain?.();
    removeMain = null;
    if (b.status === "draft" || b.status === "scheduled") removeMain = mainButton(_("Edit"), () => go({ broadcast: id, edit: "1" }), container);
    if (b.status === "running" || b.status === "scheduled") timer = setTimeout(refresh, POLL_MS);
  }
  await refresh();
}

main();
