// The clerk's appeals: the queue (filters, counts, pages, export) and one appeal's card with
// the actions its status allows. Both views live in one page: the queue stays in the DOM
// while a card is open, so going back finds its filters, loaded pages and scroll untouched.
import {
  _, act, api, appUrl, backControl, confirmDialog, errorView, externalLink, format, formatDate, h, haptic, mainButton, notice,
  saveResponse, spinner, start, useLocale, useTimeZone,
} from "../shared/glocal.js";

const OPEN = ["registered", "in_progress", "info_requested"];
const STATUSES = [...OPEN, "redirected", "answered", "no_answer_required", "closed"];
const KINDS = ["proposal", "statement", "complaint", "report"];
const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 350;
const SHORT_DATE = { day: "numeric", month: "short", year: "numeric" };
const DATE_TIME = { dateStyle: "medium", timeStyle: "short" };

const root = document.getElementById("app");
const query = new URLSearchParams(location.search);

let me = null;
let townId = null;
let categories = [];
let staff = null; // colleagues, fetched the first time someone assigns

// -- labels ----------------------------------------------------------------------------
// Statuses and kinds use the backend's msgids (service.STATUS_TITLES, KIND_TITLES), so the
// queue, the export and the bot's messages name them alike.

function statusTitle(status) {
  const titles = {
    registered: _("registered"),
    in_progress: _("in progress"),
    info_requested: _("more information requested"),
    redirected: _("redirected to another body"),
    answered: _("answered"),
    no_answer_required: _("left without an answer"),
    closed: _("closed"),
  };
  return titles[status] || status;
}

function kindTitle(kind) {
  const titles = { proposal: _("Proposal"), statement: _("Statement"), complaint: _("Complaint"), report: _("Problem report") };
  return titles[kind] || kind;
}

// The grounds of 59-FZ art. 11 the API accepts; the long texts are the backend's msgids.
function noAnswerReasons() {
  return [
    ["missing_name", _("No name"), _("The appeal does not give the citizen's name.")],
    ["missing_reply_address", _("No address for the answer"), _("The appeal does not give an address for the answer.")],
    ["obscene", _("Obscene language or threats"), _("The appeal contains obscene or insulting language or threats.")],
    ["unreadable", _("Unreadable"), _("The text of the appeal cannot be read.")],
    ["no_essence", _("No essence"), _("The text does not show what the citizen proposes, asks or complains about.")],
    [
      "correspondence_stopped",
      _("Correspondence stopped"),
      _("The question has already been answered on the merits more than once and the appeal brings no new arguments, so correspondence on it is stopped."),
    ],
  ];
}

function dueText(item) {
  if (!item.due_at) return "—";
  const date = formatDate(item.due_at, SHORT_DATE);
  return item.deadline === "overdue" ? format(_("Overdue since {date}"), { date }) : format(_("Due {date}"), { date });
}

function fileSize(bytes) {
  const kb = Math.max(1, Math.round(bytes / 1024));
  return new Intl.NumberFormat(document.documentElement.lang, { style: "unit", unit: "kilobyte", maximumFractionDigits: 0 }).format(kb);
}

// -- start -----------------------------------------------------------------------------

async function main() {
  await start();
  history.scrollRestoration = "manual"; // the queue restores its own scroll position
  window.addEventListener("popstate", route);
  await load();
}

async function load() {
  root.replaceChildren(spinner());
  try {
    me = await api("/me");
    await useLocale(me.locale);
    // The bot's reminder buttons name the town; the hub relies on the current one.
    townId = positiveInt(query.get("town")) || me.current_municipality?.id || null;
    if (!townId) {
      root.replaceChildren(
        h("h1", {}, _("Appeals")),
        h("p", {}, _("Choose your town in the services first.")),
        h("a", { class: "button", href: appUrl("hub/") }, _("Services")),
      );
      return;
    }
    useTimeZone(town()?.timezone);
    categories = await api(base() + "/appeal-categories");
  } catch (error) {
    root.replaceChildren(errorView(error, load));
    return;
  }
  queueView = h("section", { id: "queue" });
  cardView = h("section", { id: "card", hidden: true });
  root.replaceChildren(queueView, cardView);
  route();
}

function positiveInt(value) {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : null;
}

function base() {
  return "/municipalities/" + townId;
}

function town() {
  const membership = me.memberships.find((m) => m.municipality.id === townId);
  return membership?.municipality || (me.current_municipality?.id === townId ? me.current_municipality : null);
}

function townName() {
  return town()?.name || "";
}

function myRoles() {
  return me.memberships.filter((m) => m.municipality.id === townId).map((m) => m.role);
}

// -- views and history -------------------------------------------------------------------
// A card has its own URL (?appeal=ID), so the browser's back and a reload work too.

let queueView = null;
let cardView = null;
let leaveView = null; // tears down what the current view set up (Telegram buttons, blobs)
let queueScroll = 0;

function pageUrl(appealId) {
  const url = new URL(location.href);
  url.searchParams.set("town", townId);
  if (appealId) url.searchParams.set("appeal", appealId);
  else url.searchParams.delete("appeal");
  return url.href; // the hash (launch data) stays
}

function route() {
  if (!queueView) return; // history moved before the page finished loading
  const appealId = positiveInt(new URLSearchParams(location.search).get("appeal"));
  if (appealId) showCard(appealId);
  else showQueue();
}

function openCard(id) {
  history.pushState({ inApp: true }, "", pageUrl(id));
  showCard(id);
}

function backToQueue() {
  // Opened from the queue: step back in history. Opened straight from a bot's button: there
  // is nothing to step back to, so the queue replaces the card.
  if (history.state?.inApp) history.back();
  else {
    history.replaceState(null, "", pageUrl(null));
    showQueue();
  }
}

function leave() {
  leaveView?.();
  leaveView = null;
  notice("");
}

// -- the queue -----------------------------------------------------------------------------

const filters = { status: new Set(OPEN), kind: "", category: "", assignee: "", overdue: false, within: "", q: "" };
let queueBuilt = false;
let listToken = 0; // answers to requests that a newer filter change overtook are dropped
let cursor = null;
let counts = null;
const changed = new Map(); // id -> card, for appeals acted on since the queue was drawn
let list;
let listState;
let more;
let summary;

function showQueue() {
  leave();
  document.title = _("Appeals");
  cardView.hidden = true;
  cardView.replaceChildren();
  queueView.hidden = false;
  const back = backControl(() => location.assign(appUrl("hub/")), _("Services"));
  if (back.element) queueView.prepend(back.element);
  leaveView = () => {
    queueScroll = window.scrollY;
    back.drop();
  };
  if (!queueBuilt) {
    buildQueue();
    queueBuilt = true;
    reload();
    return;
  }
  refreshChanged();
  window.scrollTo(0, queueScroll);
}

function buildQueue() {
  const search = h("input", {
    type: "search", id: "q", class: "input", enterkeyhint: "search", autocomplete: "off",
    placeholder: _("Number, name, address or words"), "aria-label": _("Search"),
    oninput: debounce((event) => {
      filters.q = event.target.value.trim();
      reload();
    }, SEARCH_DELAY_MS),
  });
  const chips = STATUSES.map((status) =>
    h(
      "button",
      { type: "button", class: "chip", "data-status": status, "aria-pressed": String(filters.status.has(status)), onclick: toggleStatus },
      h("span", { class: "chip-label" }, statusTitle(status)),
      h("span", { class: "count" }, ""),
    ),
  );
  const overdue = h(
    "button",
    { type: "button", class: "chip alarm", id: "overdue", "aria-pressed": "false", onclick: toggleOverdue },
    h("span", { class: "chip-label" }, _("Overdue")),
    h("span", { class: "count" }, ""),
  );
  const selects = h(
    "div",
    { class: "filter-grid" },
    selectField("kind", _("Kind"), [["", _("Any kind")], ...KINDS.map((k) => [k, kindTitle(k)])]),
    selectField("category", _("Category"), [["", _("Any category")], ...categories.map((c) => [String(c.id), c.name])]),
    selectField("assignee", _("Assignee"), [["", _("Anyone")], ["me", _("Me")], ["none", _("Not assigned")]]),
    selectField("within", _("Deadline"), [
      ["", _("Any deadline")],
      ["1", _("Due within a day")],
      ["3", _("Due within 3 days")],
      ["5", _("Due within 5 days")],
      ["10", _("Due within 10 days")],
    ]),
  );
  list = h("ul", { class: "appeals", id: "list", "aria-live": "polite" });
  listState = h("div", {});
  summary = h("p", { class: "hint", id: "summary" });
  more = h("button", { type: "button", class: "button secondary", id: "more", hidden: true, onclick: act(loadMore) }, _("Load more"));
  queueView.append(
    h("h1", {}, _("Appeals")),
    h("p", { class: "hint", id: "town" }, townName()),
    h("div", { class: "filters", role: "search" }, search, h("div", { class: "chips", role: "group", "aria-label": _("Status") }, chips, overdue), selects),
    h(
      "div",
      { class: "export" },
      h("span", { class: "hint" }, _("Download the list:")),
      h("button", { type: "button", class: "button secondary small", onclick: act(() => exportQueue("csv")) }, "CSV"),
      h("button", { type: "button", class: "button secondary small", onclick: act(() => exportQueue("xlsx")) }, "XLSX"),
    ),
    listState,
    list,
    summary,
    more,
  );
}

function selectField(name, label, options) {
  const select = h(
    "select",
    { id: "filter-" + name, onchange: (event) => { filters[name] = event.target.value; reload(); } },
    options.map(([value, text]) => h("option", { value, selected: value === filters[name] }, text)),
  );
  return h("label", { class: "field" }, h("span", { class: "hint" }, label), select);
}

function toggleStatus(event) {
  const chip = event.currentTarget;
  const status = chip.dataset.status;
  if (filters.status.has(status)) filters.status.delete(status);
  else filters.status.add(status);
  chip.setAttribute("aria-pressed", String(filters.status.has(status)));
  reload();
}

function toggleOverdue(event) {
  filters.overdue = !filters.overdue;
  event.currentTarget.setAttribute("aria-pressed", String(filters.overdue));
  reload();
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** The filters as the API's query; counts take all but the status, to show on the chips. */
function queueParams({ withStatus = true } = {}) {
  const params = new URLSearchParams();
  if (withStatus) for (const status of STATUSES.filter((s) => filters.status.has(s))) params.append("status", status);
  if (filters.kind) params.set("kind", filters.kind);
  if (filters.category) params.set("category_id", filters.category);
  if (filters.assignee) params.set("assignee", filters.assignee);
  if (filters.overdue) params.set("overdue", "true");
  if (filters.within) params.set("due_within_days", filters.within);
  if (filters.q) params.set("q", filters.q);
  return params;
}

function fetchPage(after) {
  const params = queueParams();
  params.set("limit", PAGE_SIZE);
  if (after) params.set("cursor", after);
  return api(base() + "/appeals?" + params);
}

async function reload() {
  const token = ++listToken;
  changed.clear();
  list.replaceChildren();
  more.hidden = true;
  summary.textContent = "";
  listState.replaceChildren(spinner());
  // Counts cost more than a page (they read every matching row), so the page is drawn first.
  const countsRequest = api(base() + "/appeals/counts?" + queueParams({ withStatus: false }));
  try {
    const page = await fetchPage(null);
    if (token !== listToken) return;
    listState.replaceChildren();
    showPage(page);
  } catch (error) {
    if (token === listToken) listState.replaceChildren(errorView(error, reload));
    return;
  }
  try {
    const newCounts = await countsRequest;
    if (token !== listToken) return;
    counts = newCounts;
    showCounts();
    showSummary();
  } catch {
    // The list is what matters; chips keep their last numbers.
  }
}

async function loadMore() {
  const token = listToken;
  const page = await fetchPage(cursor);
  if (token === listToken) showPage(page);
}

function showPage(page) {
  list.append(...page.items.map(row));
  cursor = page.next_cursor;
  more.hidden = !cursor;
  if (!list.children.length) listState.replaceChildren(h("p", { class: "hint empty" }, _("No appeals match these filters.")));
  showSummary();
}

function showSummary() {
  // With no status chosen the API shows every status, so the total is every count then.
  const chosen = filters.status.size ? [...filters.status] : STATUSES;
  const total = chosen.reduce((sum, status) => sum + (counts?.counts[status] || 0), 0);
  summary.textContent = list.children.length ? format(_("Shown {shown} of {total}"), { shown: list.children.length, total }) : "";
}

function showCounts() {
  for (const chip of queueView.querySelectorAll(".chip[data-status]")) {
    chip.querySelector(".count").textContent = String(counts.counts[chip.dataset.status] ?? 0);
  }
  queueView.querySelector("#overdue .count").textContent = String(counts.overdue);
}

function row(item) {
  return h(
    "li",
    { class: "appeal-row", "data-id": item.id, "data-deadline": item.deadline, "data-status": item.status },
    h(
      "a",
      {
        class: "appeal " + item.deadline,
        href: pageUrl(item.id),
        onclick: (event) => {
          if (event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab, as links do
          event.preventDefault();
          openCard(item.id);
        },
      },
      h(
        "span",
        { class: "appeal-top" },
        h("strong", { class: "reg" }, item.reg_number),
        h("span", { class: "kind" }, kindTitle(item.kind)),
        item.attachments > 0 &&
          h("span", { class: "clip", title: _("Attachments") }, h("span", { "aria-hidden": "true" }, "📎"), " " + item.attachments),
      ),
      h("span", { class: "category" }, item.category || "—"),
      h("span", { class: "excerpt" }, item.excerpt),
      h(
        "span",
        { class: "appeal-bottom" },
        h("span", { class: "status-pill" }, statusTitle(item.status)),
        h("span", { class: "assignee" }, item.assignee_name || _("Not assigned")),
        h("span", { class: "due " + item.deadline }, dueText(item)),
      ),
    ),
  );
}

/** Rows of appeals acted on in a card take the card's state; counts are fetched anew. */
async function refreshChanged() {
  if (!changed.size) return;
  for (const [id, updated] of changed) list.querySelector(`li[data-id="${id}"]`)?.replaceWith(row(updated));
  changed.clear();
  const token = listToken;
  try {
    const newCounts = await api(base() + "/appeals/counts?" + queueParams({ withStatus: false }));
    if (token !== listToken) return;
    counts = newCounts;
    showCounts();
  } catch {
    // The chips keep their old numbers; the next filter change fetches them again.
  }
}

async function exportQueue(type) {
  const params = queueParams();
  params.set("format", type);
  const response = await api(base() + "/appeals/export?" + params, { raw: true });
  await saveResponse(response, "appeals." + type);
}

// -- the card --------------------------------------------------------------------------------

let cardToken = 0;
let card = null;
let blobUrls = [];
let dropMain = null;
let typed = new Map(); // what the clerk typed in the card's forms, kept across redraws

async function showCard(id) {
  leave();
  queueView.hidden = true;
  cardView.hidden = false;
  window.scrollTo(0, 0);
  const token = ++cardToken;
  if (card?.id !== id) typed = new Map();
  const back = backControl(backToQueue, _("Appeals"));
  leaveView = () => {
    back.drop();
    dropMain?.();
    dropMain = null;
    for (const url of blobUrls) URL.revokeObjectURL(url);
    blobUrls = [];
  };
  cardView.replaceChildren(...[back.element, spinner()].filter(Boolean));
  try {
    const data = await api(base() + "/appeals/" + id);
    if (token !== cardToken) return;
    drawCard(data, back.element);
  } catch (error) {
    if (token === cardToken) cardView.replaceChildren(...[back.element, errorView(error, () => showCard(id))].filter(Boolean));
  }
}

/** Draw the card after an action answered with its new state. */
function updateCard(data) {
  changed.set(data.id, data);
  drawCard(data, cardView.querySelector(".back"));
}

function drawCard(data, backElement) {
  card = data;
  dropMain?.();
  dropMain = null;
  document.title = card.reg_number;
  const mainSlot = h("div", { class: "main-action" });
  const answer = answerForm();
  cardView.replaceChildren(
    ...[
      backElement,
      cardHeader(),
      mainSlot,
      notes(),
      h("p", { class: "appeal-text", id: "text" }, card.text),
      residentBlock(),
      filesBlock(),
      documentsBlock(),
      actionsBlock(answer),
      relatedBlock("duplicates", _("Possible duplicates"), card.duplicates, true),
      relatedBlock("linked", _("Linked appeals"), card.linked, false),
      commentsBlock(),
      historyBlock(),
    ].filter(Boolean),
  );
  defaultMain = () => setMain(mainAction(answer), mainSlot);
  defaultMain();
}

let defaultMain = () => {};

function setMain(action, slot) {
  dropMain?.();
  dropMain = action ? mainButton(action.text, action.run, slot) : null;
}

/** The card's one main action: take it, else write the answer. */
function mainAction(answer) {
  if (!isOpen()) return null;
  if (card.assignee_id !== me.id) return { text: _("Take the appeal"), run: act(take) };
  if (answer) {
    return {
      text: _("Write an answer"),
      run: () => {
        answer.open = true; // its toggle handler loads the draft and offers "Send answer"
        answer.scrollIntoView({ behavior: "smooth", block: "start" });
      },
    };
  }
  return null;
}

function isOpen() {
  return OPEN.includes(card.status) && !card.merged_into_id;
}

function cardHeader() {
  return h(
    "header",
    { class: "card-head" },
    h("h1", { id: "reg" }, card.reg_number),
    h(
      "p",
      { class: "meta" },
      h("span", { class: "status-pill", id: "status", "data-status": card.status }, statusTitle(card.status)),
      h("span", {}, kindTitle(card.kind)),
      card.category && h("span", {}, card.category),
    ),
    h(
      "p",
      { class: "meta" },
      h("span", { class: "due " + card.deadline, id: "due" }, dueText(card)),
      h("span", { id: "assignee" }, card.assignee_name ? format(_("Assignee: {name}"), { name: card.assignee_name }) : _("Not assigned")),
    ),
    h("p", { class: "hint" }, format(_("Registered {date}"), { date: formatDate(card.registered_at, DATE_TIME) })),
  );
}

/** What the clerk should know before acting: merges, redirects, flags, the rating. */
function notes() {
  const items = [];
  if (card.merged_into) {
    items.push(h("p", {}, format(_("Merged into {number}."), { number: card.merged_into.reg_number }), " ", h("button", { type: "button", class: "link", onclick: () => openCard(card.merged_into.id) }, _("Open it"))));
  }
  if (card.redirected_to) items.push(h("p", {}, format(_("Redirected to: {body}"), { body: card.redirected_to })));
  if (card.no_answer_reason) items.push(h("p", {}, format(_("Left without an answer: {reason}"), { reason: card.no_answer_reason })));
  if (card.extended) items.push(h("p", {}, _("The deadline has already been extended once.")));
  if (card.flagged_for_head) items.push(h("p", {}, _("A repeated appeal: the head may decide to stop the correspondence.")));
  if (card.flagged_obscene) items.push(h("p", {}, _("Marked as containing obscene language.")));
  if (card.rating) {
    // <q> puts the quotation marks of the page's language around the resident's words.
    items.push(h("p", {}, format(_("The resident rated the answer {rating} of 5."), { rating: card.rating }), card.rating_comment && [" ", h("q", {}, card.rating_comment)]));
  }
  return items.length ? h("div", { class: "notes" }, items) : null;
}

function residentBlock() {
  const facts = [
    [_("Name"), card.full_name || _("Not given")],
    [_("Reply address"), card.reply_address ? contactLink(card.reply_address, card.reply_address_type === "email" ? "mailto:" : null) : _("Not given")],
    [_("Phone"), card.phone ? contactLink(card.phone, "tel:") : _("Not given")],
  ];
  if (card.address || card.map_url) {
    facts.push([
      _("Address"),
      h(
        "span",
        {},
        card.address || "",
        card.address && card.map_url ? " · " : "",
        card.map_url && externalLink(card.map_url, { id: "map", class: "map-link" }, _("Open the map")),
      ),
    ]);
  }
  return h("section", { class: "block", id: "resident" }, h("h2", {}, _("Resident")), h("dl", { class: "facts" }, facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])));
}

function contactLink(value, scheme) {
  return scheme ? h("a", { href: scheme + value.replace(/\s+/g, "") }, value) : value;
}

// Files are API paths that need the Authorization header: fetched, then shown as blobs.
function apiPath(url) {
  return url.replace(/^\/api\/v1(?=\/)/, ""); // FileOut.url is "/api/v1/..."; api() adds its base
}

function filesBlock() {
  if (!card.files.length) return null;
  const images = card.files.filter((f) => f.mime.startsWith("image/"));
  const others = card.files.filter((f) => !f.mime.startsWith("image/"));
  return h(
    "section",
    { class: "block", id: "files" },
    h("h2", {}, _("Attachments")),
    images.length > 0 && h("div", { class: "photos" }, images.map(photo)),
    others.map((f) => h("p", {}, fileButton(f, "📄 " + f.filename + " · " + fileSize(f.size)))),
  );
}

function photo(file) {
  const img = h("img", { alt: file.filename, "data-file": file.id, loading: "lazy" });
  api(apiPath(file.url), { raw: true })
    .then((response) => response.blob())
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      blobUrls.push(url);
      img.src = url;
    })
    .catch(() => img.replaceWith(h("p", { class: "hint" }, format(_("Could not load {name}."), { name: file.filename }))));
  return img;
}

function fileButton(file, label) {
  return h("button", { type: "button", class: "link file", "data-file": file.id, onclick: act(async () => saveResponse(await api(apiPath(file.url), { raw: true }), file.filename)) }, label);
}

function documentsBlock() {
  if (!card.documents.length) return null;
  return h(
    "section",
    { class: "block", id: "documents" },
    h("h2", {}, _("Answer")),
    card.documents.map((doc) =>
      h(
        "article",
        { class: "document" },
        h("p", {}, h("strong", { class: "doc-number" }, format(_("Outgoing No. {number}"), { number: doc.number || "—" })), doc.registered_at ? " · " + formatDate(doc.registered_at, SHORT_DATE) : ""),
        h("p", { class: "hint" }, doc.title),
        h("details", {}, h("summary", {}, _("Text of the answer")), h("p", { class: "appeal-text" }, doc.body)),
        doc.file && fileButton(doc.file, "📄 " + _("Download PDF")),
      ),
    ),
  );
}

// -- actions -----------------------------------------------------------------------------------

async function take() {
  updateCard(await api(base() + "/appeals/" + card.id + "/assign", { method: "POST", body: {} }));
  haptic("success");
  notice(_("The appeal is yours now."));
}

async function setStatus(status) {
  updateCard(await api(base() + "/appeals/" + card.id + "/status", { method: "POST", body: { status } }));
  haptic("success");
  notice(format(_("Status: {status}"), { status: statusTitle(status) }));
}

async function closeAppeal() {
  if (await confirmDialog(_("Close the appeal? A closed appeal cannot be reopened."))) await setStatus("closed");
}

function post(path, body) {
  return api(base() + "/appeals/" + card.id + path, { method: "POST", body });
}

function actionsBlock(answer) {
  const allowed = new Set(card.allowed_statuses);
  const open = isOpen();
  const buttons = [];
  if (allowed.has("in_progress") && card.status !== "registered") {
    buttons.push(h("button", { type: "button", class: "button secondary", onclick: act(() => setStatus("in_progress")) }, _("Back to work")));
  }
  if (allowed.has("closed")) buttons.push(h("button", { type: "button", class: "button secondary", onclick: act(closeAppeal) }, _("Close the appeal")));
  const forms = [
    answer,
    open && assignForm(),
    noteForm(),
    card.can_request_info && requestInfoForm(),
    open && !card.extended && extendForm(),
    open && card.can_redirect && allowed.has("redirected") && redirectForm(),
    open && allowed.has("no_answer_required") && noAnswerForm(),
  ].filter(Boolean);
  return h("section", { class: "block", id: "actions" }, h("h2", {}, _("Actions")), buttons, forms);
}

function field(name, element) {
  element.name = name;
  element.id = "field-" + name;
  if (typed.has(name)) element.value = typed.get(name);
  element.addEventListener("input", () => typed.set(name, element.value));
  element.addEventListener("change", () => typed.set(name, element.value));
  return element;
}

function labelled(label, element) {
  return h("label", { class: "field" }, h("span", { class: "hint" }, label), element);
}

/**
 * A folded form for one action. Its button asks first when `ask` gives a question, shows the
 * server's refusal inside the form (keeping what was typed: nothing is redrawn on failure) and
 * redraws the card from the server's answer on success.
 */
function actionForm({ id, title, hint, fields, button, danger = false, run, ask, done, ontoggle, slot }) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const form = h("details", { class: "action", id, ontoggle: ontoggle && (() => ontoggle(form)) });
  const submit = async (event) => {
    const control = event?.currentTarget;
    error.hidden = true;
    if (ask && !(await confirmDialog(ask()))) return;
    if (control) control.disabled = true;
    try {
      const updated = await run();
      for (const control of form.querySelectorAll("[name]")) typed.delete(control.name);
      haptic("success");
      updateCard(updated);
      notice(done);
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
      haptic("error");
    } finally {
      if (control) control.disabled = false;
    }
  };
  form.submitAction = submit; // for a main button outside the form (Telegram's)
  form.append(
    h("summary", {}, title),
    hint && h("p", { class: "hint" }, hint),
    ...fields,
    error,
    slot || h("button", { type: "button", class: "button" + (danger ? " danger" : ""), onclick: submit }, button),
  );
  return form;
}

function answerForm() {
  if (!isOpen() || !card.allowed_statuses.includes("answered")) return null;
  const body = field("answer", h("textarea", { rows: "12", "aria-label": _("Text of the answer") }));
  const slot = h("div", { class: "form-actions" });
  let drafted = body.value !== "";
  const form = actionForm({
    id: "answer-form",
    title: _("Answer"),
    hint: _("The text starts from the category's template. The answer is registered as an outgoing document, rendered to PDF and sent to the resident."),
    fields: [body],
    slot,
    ask: () => _("Send the answer? It will be registered as an outgoing document and sent to the resident; it cannot be taken back."),
    run: () => post("/answer", { body: body.value }),
    done: _("The answer has been registered and sent."),
    ontoggle: async (details) => {
      if (!details.open) {
        defaultMain();
        return;
      }
      // The answer editor's main action is sending: Telegram's bottom button, or one below the text.
      setMain({ text: _("Send answer"), run: (event) => details.submitAction(event) }, slot);
      if (drafted) return;
      drafted = true;
      body.disabled = true;
      body.placeholder = _("Loading…");
      try {
        const draft = await api(base() + "/appeals/" + card.id + "/answer-draft");
        if (!body.value) body.value = draft.body;
        typed.set("answer", body.value);
      } catch (failure) {
        drafted = false;
        notice(failure.message, "error");
      } finally {
        body.disabled = false;
        body.placeholder = "";
        body.focus();
      }
    },
  });
  return form;
}

function assignForm() {
  const select = field("assignee", h("select", { "aria-label": _("Colleague") }, h("option", { value: "" }, _("Loading…"))));
  return actionForm({
    id: "assign-form",
    title: _("Assign to a colleague"),
    fields: [select],
    button: _("Assign"),
    run: () => {
      if (!select.value) throw new Error(_("Choose a colleague."));
      return post("/assign", { assignee_id: Number(select.value) });
    },
    done: _("The appeal has been assigned."),
    ontoggle: async (details) => {
      if (!details.open || select.options.length > 1) return;
      try {
        staff = staff || (await api(base() + "/appeals/staff"));
        const kept = typed.get("assignee") || "";
        select.replaceChildren(
          h("option", { value: "", selected: !kept }, _("Choose a colleague")),
          ...staff.map((person) => h("option", { value: String(person.id), selected: String(person.id) === kept }, person.id === me.id ? format(_("{name} (me)"), { name: person.name }) : person.name)),
        );
      } catch (failure) {
        notice(failure.message, "error");
      }
    },
  });
}

function noteForm() {
  const text = field("note", h("textarea", { rows: "3", "aria-label": _("Internal note") }));
  return actionForm({
    id: "note-form",
    title: _("Internal note"),
    hint: _("Only staff see notes; the resident does not."),
    fields: [text],
    button: _("Add note"),
    run: () => post("/comments", { text: text.value }),
    done: _("Note added."),
  });
}

function requestInfoForm() {
  const text = field("question", h("textarea", { rows: "3", "aria-label": _("Question to the resident") }));
  return actionForm({
    id: "request-info-form",
    title: _("Ask the resident for more information"),
    hint: _("The question goes to the resident's chat; their reply appears in the comments."),
    fields: [text],
    button: _("Send the question"),
    run: () => post("/request-info", { text: text.value }),
    done: _("The question has been sent to the resident."),
  });
}

function extendForm() {
  const days = field("days", h("input", { type: "number", class: "input", min: "1", max: "30", step: "1", inputmode: "numeric" }));
  const reason = field("reason", h("textarea", { rows: "2" }));
  return actionForm({
    id: "extend-form",
    title: _("Extend the deadline"),
    hint: _("Once, by 1 to 30 days; the resident is told the new date and the reason."),
    fields: [labelled(_("Days"), days), labelled(_("Reason"), reason)],
    button: _("Extend"),
    // The server judges the number: its message says what is wrong, in the clerk's language.
    run: () => post("/extend", { days: days.value === "" ? null : Number(days.value), reason: reason.value }),
    done: _("The deadline has been extended."),
  });
}

function redirectForm() {
  const to = field("redirect", h("input", { type: "text", class: "input", maxlength: "300" }));
  return actionForm({
    id: "redirect-form",
    title: _("Redirect to the competent body"),
    hint: _("Within 7 days of registration; the resident is told where the appeal went."),
    fields: [labelled(_("Competent body"), to)],
    button: _("Redirect"),
    danger: true,
    ask: () => format(_("Redirect the appeal to “{body}”? The resident will be told, and the appeal leaves your queue."), { body: to.value.trim() }),
    run: () => post("/redirect", { to: to.value }),
    done: _("The appeal has been redirected."),
  });
}

function noAnswerForm() {
  // Only the head stops correspondence (art. 11 p. 5); the server checks it too.
  const mayStop = myRoles().some((role) => role === "head" || role === "admin");
  const reasons = noAnswerReasons().filter(([key]) => key !== "correspondence_stopped" || mayStop);
  const explain = h("p", { class: "hint reason-text" });
  const select = field(
    "no-answer",
    h("select", { "aria-label": _("Reason") }, h("option", { value: "" }, _("Choose a reason")), reasons.map(([key, label]) => h("option", { value: key }, label))),
  );
  const describe = () => {
    explain.textContent = reasons.find(([key]) => key === select.value)?.[2] || "";
  };
  select.addEventListener("change", describe);
  describe();
  return actionForm({
    id: "no-answer-form",
    title: _("Leave without an answer"),
    hint: _("Only on a ground of 59-FZ art. 11; the resident is told the reason."),
    fields: [labelled(_("Reason"), select), explain],
    button: _("Leave without an answer"),
    danger: true,
    ask: () => _("Leave the appeal without an answer? The resident will be told the reason; this cannot be undone."),
    run: () => {
      if (!select.value) throw new Error(_("Choose a reason."));
      return post("/no-answer", { reason: select.value });
    },
    done: _("The appeal is left without an answer."),
  });
}

// -- related appeals, comments, history --------------------------------------------------------

function relatedBlock(id, title, items, mergeable) {
  if (!items.length) return null;
  // Merging is for problem reports: this one is folded into the other, which gets one answer.
  const canMerge = mergeable && isOpen() && card.kind === "report";
  return h(
    "section",
    { class: "block", id },
    h("h2", {}, title),
    h(
      "ul",
      { class: "related" },
      items.map((other) =>
        h(
          "li",
          { "data-id": other.id },
          h("a", { href: pageUrl(other.id), onclick: (event) => { event.preventDefault(); openCard(other.id); } }, other.reg_number),
          " · ",
          h("span", { class: "hint" }, statusTitle(other.status)),
          h("span", { class: "excerpt" }, other.excerpt),
          canMerge && OPEN.includes(other.status) &&
            h("button", { type: "button", class: "button secondary small", onclick: act(() => merge(other)) }, _("Merge into this one")),
        ),
      ),
    ),
  );
}

async function merge(other) {
  const sure = await confirmDialog(format(_("Merge this report into {number}? Its author will receive the answer to that one."), { number: other.reg_number }));
  if (!sure) return;
  updateCard(await post("/merge", { into_id: other.id }));
  haptic("success");
  notice(format(_("Merged into {number}."), { number: other.reg_number }));
}

function commentsBlock() {
  if (!card.comments.length) return null;
  const kinds = { note: _("Internal note"), info_request: _("Question to the resident"), resident_reply: _("Resident's reply") };
  return h(
    "section",
    { class: "block", id: "comments" },
    h("h2", {}, _("Comments")),
    h(
      "ol",
      { class: "timeline" },
      card.comments.map((c) =>
        h(
          "li",
          { class: "comment " + c.kind },
          h("p", { class: "hint" }, [kinds[c.kind] || c.kind, c.author, formatDate(c.created_at, DATE_TIME)].filter(Boolean).join(" · ")),
          h("p", { class: "appeal-text" }, c.body),
          (c.files || []).map((f) => fileButton(f, "📎 " + f.filename)),
        ),
      ),
    ),
  );
}

function historyBlock() {
  if (!card.history.length) return null;
  return h(
    "section",
    { class: "block", id: "history" },
    h("details", {}, h("summary", {}, _("History")),
      h(
        "ol",
        { class: "timeline" },
        card.history.map((entry) =>
          h("li", {}, h("p", { class: "hint" }, [formatDate(entry.at, DATE_TIME), entry.actor].filter(Boolean).join(" · ")), h("p", {}, historyText(entry))),
        ),
      ),
    ),
  );
}

function historyText(entry) {
  const details = entry.details || {};
  switch (entry.action) {
    case "appeal.register":
      return _("Registered");
    case "appeal.open311":
      return _("Received through Open311");
    case "appeal.status":
      return format(_("Status: {status}"), { status: statusTitle(details.status) });
    case "appeal.assign": {
      const name = details.assignee_name;
      return name ? format(_("Assigned to {name}"), { name }) : _("Assignee changed");
    }
    case "appeal.extend":
      if (!details.due_at) return entry.action; // Intl throws on an invalid date
      return format(_("Deadline extended to {date}"), { date: formatDate(details.due_at, SHORT_DATE) });
    case "appeal.merge":
      return _("Merged into another report");
    case "appeal.rate":
      return format(_("The resident rated the answer {rating} of 5."), { rating: details.rating });
    default:
      return entry.action;
  }
}

main();
