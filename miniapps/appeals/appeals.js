// The clerk's appeals: the queue (a compact bar of search, quick views and a filter sheet;
// counts, pages, export) and one appeal's card, whose actions open as sheets. Both views live
// in one page: the queue stays in the DOM while a card is open, so going back finds its
// filters, loaded pages and scroll untouched.
//
// Some fields and routes are newer than this page may find on a server (department names,
// sorting, the resident's earlier appeals, saved drafts, download links): each is used when
// the answer has it and left out quietly when not.
import {
  _, act, actionSheet, api, appUrl, backControl, closeSheets, confirmDialog, daysUntil, download, errorScreen, errorView, externalLink,
  format, formatDate, h, haptic, keep, kept, mainButton, missingRoute, ngettext, notice, prefetch, secondaryButton, section, sheet, spinner,
  start, useLocale, useTimeZone,
} from "../shared/glocal.js";

const OPEN = ["registered", "in_progress", "info_requested"];
const STATUSES = [...OPEN, "redirected", "answered", "no_answer_required", "closed"];
const KINDS = ["proposal", "statement", "complaint", "report"];
const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 350;
const DRAFT_DELAY_MS = 600;
const SHORT_DATE = { day: "numeric", month: "short", year: "numeric" };
const DATE_TIME = { dateStyle: "medium", timeStyle: "short" };

const root = document.getElementById("app");
const query = new URLSearchParams(location.search);

let me = null;
let townId = null;
let categories = [];
let departments = null; // [{id, name}] once asked; [] where the server has no such list
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

function sourceTitle(source) {
  const titles = { bot: _("Telegram bot"), open311: "Open311", miniapp: _("Mini App") };
  return titles[source] || source;
}

function sortOptions() {
  return [
    ...(filters.q ? [["rank", _("Best match first")]] : []),
    ["due", _("Due date, soonest first")],
    ["-registered", _("Newest first")],
    ["registered", _("Oldest first")],
  ];
}

/** The order the clerk picked, if it applies ("" leaves it to the server: best match first
 * with a search, due date without). */
function chosenSort() {
  return filters.sort === "rank" && !filters.q ? "" : filters.sort;
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

/** How much time is left, in whole days of the town's calendar: what a clerk acts on. */
function timeLeft(item) {
  if (item.deadline === "none" || !item.due_at) return "";
  const days = daysUntil(item.due_at);
  if (item.deadline === "overdue") {
    return days < 0 ? format(ngettext("Overdue by {n} day", "Overdue by {n} days", -days), { n: -days }) : _("Overdue");
  }
  if (days <= 0) return _("Due today");
  if (days === 1) return _("Due tomorrow");
  return format(ngettext("{n} day left", "{n} days left", days), { n: days });
}

function fileSize(bytes) {
  const kb = Math.max(1, Math.round(bytes / 1024));
  return new Intl.NumberFormat(document.documentElement.lang, { style: "unit", unit: "kilobyte", maximumFractionDigits: 0 }).format(kb);
}

// -- start -----------------------------------------------------------------------------

async function main() {
  // The person travels beside Telegram's script and the strings, not after them.
  const meRequest = prefetch("/me");
  if (!(await start())) return;
  history.scrollRestoration = "manual"; // the queue restores its own scroll position
  window.addEventListener("popstate", route);
  await load(meRequest);
}

let early = null; // the first screen's requests, started beside the categories

async function load(meRequest = api("/me")) {
  root.replaceChildren(spinner());
  try {
    me = await meRequest;
    // The bot's reminder buttons name the town; the hub relies on the current one.
    townId = positiveInt(query.get("town")) || me.current_municipality?.id || null;
    if (!townId) {
      await useLocale(me.locale);
      root.replaceChildren(
        h("h1", {}, _("Appeals")),
        h("p", {}, _("Choose your town in the services first.")),
        h("a", { class: "button", href: appUrl("hub/") }, _("Services")),
      );
      return;
    }
    useTimeZone(town()?.timezone);
    // Everything the first screen shows, at once: categories, and the card or the queue.
    const appealId = positiveInt(new URLSearchParams(location.search).get("appeal"));
    const categoriesRequest = prefetch(base() + "/appeal-categories");
    early = appealId
      ? { card: prefetch(base() + "/appeals/" + appealId), id: appealId }
      : { page: prefetch(base() + "/appeals?" + pageParams(null)), counts: prefetch(countsPath()) };
    await useLocale(me.locale);
    categories = await categoriesRequest;
  } catch (error) {
    root.replaceChildren(errorScreen(error, () => load()));
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
  closeSheets();
  leaveView?.();
  leaveView = null;
  notice("");
}

// -- the queue -----------------------------------------------------------------------------

const DEFAULTS = { kind: "", category: "", department: "", assignee: "", overdue: false, within: "", q: "", sort: "" };
const filters = { status: new Set(OPEN), ...DEFAULTS };
let queueBuilt = false;
let listToken = 0; // answers to requests that a newer filter change overtook are dropped
let cursor = null;
let counts = null;
let sortable = false; // the server said which order it applied: it can sort
let appliedSort = "due"; // the order of the page shown, as the server said
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
    placeholder: _("Search"), title: _("Number, name, address or words"), "aria-label": _("Number, name, address or words"),
    oninput: debounce((event) => {
      filters.q = event.target.value.trim();
      reload();
    }, SEARCH_DELAY_MS),
  });
  const filterButton = h(
    "button",
    { type: "button", class: "icon-button", id: "filters-button", "aria-haspopup": "dialog", onclick: openFilters },
    h("span", {}, _("Filters")),
    h("span", { class: "badge", id: "filter-count" }, ""),
  );
  const quick = h(
    "div",
    { class: "quick", role: "group", "aria-label": _("Views") },
    quickChip("view-mine", _("Mine"), () => filters.assignee === "me", () => setAssignee(filters.assignee === "me" ? "" : "me")),
    quickChip("view-unassigned", _("Not assigned"), () => filters.assignee === "none", () => setAssignee(filters.assignee === "none" ? "" : "none")),
    h(
      "button",
      { type: "button", class: "chip alarm", id: "overdue", "aria-pressed": "false", onclick: toggleOverdue },
      h("span", { class: "chip-label" }, _("Overdue")),
      h("span", { class: "count" }, ""),
    ),
  );
  list = h("ul", { class: "appeals", id: "list", "aria-live": "polite" });
  listState = h("div", {});
  summary = h("p", { class: "hint", id: "summary" });
  more = h("button", { type: "button", class: "button secondary", id: "more", hidden: true, onclick: act(loadMore) }, _("Load more"));
  queueView.append(
    h("header", { class: "queue-head" }, h("h1", {}, _("Appeals")), h("p", { class: "hint", id: "town" }, townName())),
    h("div", { class: "searchbar", role: "search" }, search, filterButton),
    quick,
    h("div", { class: "list-bar" }, summary, h("button", { type: "button", class: "link", id: "sort-button", hidden: true, onclick: openSort }, "")),
    listState,
    list,
    more,
  );
  showFilterState();
}

function quickChip(id, label, pressed, toggle) {
  const chip = h("button", { type: "button", class: "chip", id, "data-quick": "", "aria-pressed": String(pressed()), onclick: toggle }, h("span", { class: "chip-label" }, label));
  chip.isPressed = pressed;
  return chip;
}

function setAssignee(value) {
  filters.assignee = value;
  showFilterState();
  reload();
}

function toggleOverdue() {
  filters.overdue = !filters.overdue;
  showFilterState();
  reload();
}

/** Filters set in the sheet (the quick views and the search show themselves). */
function sheetFilterCount() {
  const statusChanged = filters.status.size !== OPEN.length || OPEN.some((s) => !filters.status.has(s));
  return [statusChanged, filters.kind, filters.category, filters.department, filters.within].filter(Boolean).length;
}

/** The bar mirrors the filters: pressed quick views, the sheet's count, the sort. */
function showFilterState() {
  for (const chip of queueView.querySelectorAll(".chip[data-quick]")) chip.setAttribute("aria-pressed", String(chip.isPressed()));
  queueView.querySelector("#overdue").setAttribute("aria-pressed", String(filters.overdue));
  const n = sheetFilterCount();
  queueView.querySelector("#filter-count").textContent = n ? String(n) : "";
  const sortButton = queueView.querySelector("#sort-button");
  sortButton.hidden = !sortable;
  const shown = chosenSort() || appliedSort;
  sortButton.textContent = (sortOptions().find(([key]) => key === shown)?.[1] || "") + " ▾";
  for (const select of document.querySelectorAll(".filter-sheet select[data-filter]")) {
    select.value = select.dataset.filter === "sort" ? shown : filters[select.dataset.filter];
  }
}

function openFilters() {
  const chips = STATUSES.map((status) =>
    h(
      "button",
      { type: "button", class: "chip", "data-status": status, "aria-pressed": String(filters.status.has(status)), onclick: toggleStatus },
      h("span", { class: "chip-label" }, statusTitle(status)),
      h("span", { class: "count" }, counts ? String(counts.counts[status] ?? 0) : ""),
    ),
  );
  const departmentSlot = h("div", { hidden: true }); // until the town's departments are known
  const content = [
    section(_("Status"), {}, h("div", { class: "chips", role: "group", "aria-label": _("Status") }, chips)),
    section(
      null,
      { class: "block filter-grid" },
      selectField("kind", _("Kind"), [["", _("Any kind")], ...KINDS.map((k) => [k, kindTitle(k)])]),
      selectField("category", _("Category"), [["", _("Any category")], ...categories.map((c) => [String(c.id), c.name])]),
      departmentSlot,
      selectField("assignee", _("Assignee"), [["", _("Anyone")], ["me", _("Me")], ["none", _("Not assigned")]]),
      selectField("within", _("Deadline"), [
        ["", _("Any deadline")],
        ["1", _("Due within a day")],
        ["3", _("Due within 3 days")],
        ["5", _("Due within 5 days")],
        ["10", _("Due within 10 days")],
      ]),
      sortable && selectField("sort", _("Order"), sortOptions()),
    ),
    section(
      _("Download the list"),
      {},
      h(
        "div",
        { class: "export" },
        h("button", { type: "button", class: "button secondary small", onclick: act(() => exportQueue("csv")) }, "CSV"),
        h("button", { type: "button", class: "button secondary small", onclick: act(() => exportQueue("xlsx")) }, "XLSX"),
        h("button", { type: "button", class: "link", id: "reset-filters", onclick: resetFilters }, _("Reset filters")),
      ),
    ),
  ];
  const opened = sheet({ id: "filters", title: _("Filters"), content, main: { text: _("Show appeals"), run: () => opened.close() } });
  opened.element.classList.add("filter-sheet");
  loadDepartments().then(() => {
    if (departments?.length) {
      departmentSlot.replaceWith(selectField("department", _("Department"), [["", _("Any department")], ...departments.map((d) => [String(d.id), d.name])]));
    }
  });
}

/** The town's departments for the filter, asked once; none where the server has no list. */
async function loadDepartments() {
  if (departments !== null) return;
  try {
    departments = await api(base() + "/departments");
  } catch (error) {
    departments = missingRoute(error) ? [] : null; // a failure is asked again next time
  }
}

function resetFilters() {
  filters.status = new Set(OPEN);
  Object.assign(filters, DEFAULTS, { q: filters.q });
  for (const chip of document.querySelectorAll(".filter-sheet .chip[data-status]")) chip.setAttribute("aria-pressed", String(filters.status.has(chip.dataset.status)));
  showFilterState();
  reload();
}

function selectField(name, label, options) {
  const select = h(
    "select",
    {
      id: "filter-" + name, "data-filter": name,
      onchange: (event) => {
        filters[name] = event.target.value;
        showFilterState();
        reload();
      },
    },
    options.map(([value, text]) => h("option", { value, selected: value === filters[name] }, text)),
  );
  return h("label", { class: "field" }, h("span", { class: "hint" }, label), select);
}

function openSort() {
  actionSheet({
    id: "sort",
    title: _("Order"),
    actions: sortOptions().map(([key, label]) => ({
      key, label, icon: key === (chosenSort() || appliedSort) ? "✓" : "",
      run: () => {
        filters.sort = key;
        showFilterState();
        reload();
      },
    })),
  });
}

function toggleStatus(event) {
  const chip = event.currentTarget;
  const status = chip.dataset.status;
  if (filters.status.has(status)) filters.status.delete(status);
  else filters.status.add(status);
  chip.setAttribute("aria-pressed", String(filters.status.has(status)));
  showFilterState();
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
  if (filters.department) params.set("department_id", filters.department);
  if (filters.assignee) params.set("assignee", filters.assignee);
  if (filters.overdue) params.set("overdue", "true");
  if (filters.within) params.set("due_within_days", filters.within);
  if (filters.q) params.set("q", filters.q);
  return params;
}

function pageParams(after) {
  const params = queueParams();
  if (chosenSort()) params.set("sort", chosenSort());
  params.set("limit", PAGE_SIZE);
  if (after) params.set("cursor", after);
  return params;
}

function countsPath() {
  return base() + "/appeals/counts?" + queueParams({ withStatus: false });
}

function fetchPage(after) {
  return api(base() + "/appeals?" + pageParams(after));
}

async function reload() {
  const token = ++listToken;
  changed.clear();
  list.replaceChildren();
  more.hidden = true;
  summary.textContent = "";
  listState.replaceChildren(spinner());
  // The first screen's requests were started with the categories; later ones start here.
  const first = early?.page ? early : null;
  early = null;
  // Counts cost more than a page (they read every matching row), so the page is drawn first.
  const countsRequest = first?.counts || prefetch(countsPath());
  try {
    const page = await (first?.page || fetchPage(null));
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
  if ("sort" in page && (!sortable || page.sort !== appliedSort)) {
    sortable = true;
    appliedSort = page.sort;
    showFilterState();
  }
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
  for (const chip of document.querySelectorAll(".chip[data-status]")) {
    chip.querySelector(".count").textContent = String(counts.counts[chip.dataset.status] ?? 0);
  }
  const overdue = queueView.querySelector("#overdue");
  overdue.querySelector(".count").textContent = String(counts.overdue);
  overdue.dataset.count = String(counts.overdue);
}

/** A search snippet as nodes: the server escapes the text and marks the words it found with
 * <mark>; parsed in an inert document, only text and <mark> survive, so nothing in an appeal's
 * text can become markup here even if the escaping were wrong. */
function marked(snippet) {
  const body = new DOMParser().parseFromString(`<body>${snippet}</body>`, "text/html").body;
  return [...body.childNodes].map((node) =>
    node.nodeName === "MARK" ? h("mark", {}, node.textContent) : document.createTextNode(node.textContent),
  );
}

function residentName(item) {
  return item.full_name
    ? h("span", { class: "who" }, item.full_name)
    : h("span", { class: "who anonymous" }, item.kind === "report" ? _("Anonymous report") : _("Name not given"));
}

function row(item) {
  const left = timeLeft(item);
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
        // Open: the time left, which is what the clerk acts on; closed: where it ended.
        h("span", { class: "left due " + item.deadline, title: dueText(item) }, left || statusTitle(item.status)),
      ),
      residentName(item),
      item.snippet
        ? h("span", { class: "excerpt snippet" }, ...marked(item.snippet))
        : h("span", { class: "excerpt" }, item.excerpt),
      h(
        "span",
        { class: "appeal-bottom" },
        h("span", { class: "kind" }, kindTitle(item.kind)),
        item.category && h("span", { class: "category" }, item.category),
        h("span", { class: "assignee" }, item.assignee_name || _("Not assigned")),
        item.attachments > 0 && h("span", { class: "clip", "aria-label": _("Attachments") }, "📎 " + item.attachments),
      ),
      (item.status === "info_requested" || (item.source && item.source !== "bot")) &&
        h(
          "span",
          { class: "tags" },
          item.status === "info_requested" && h("span", { class: "tag status-pill" }, statusTitle(item.status)),
          item.source && item.source !== "bot" && h("span", { class: "source tag" }, sourceTitle(item.source)),
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
    const newCounts = await api(countsPath());
    if (token !== listToken) return;
    counts = newCounts;
    showCounts();
  } catch {
    // The chips keep their old numbers; the next filter change fetches them again.
  }
}

async function exportQueue(type) {
  const params = queueParams();
  if (filters.sort !== DEFAULTS.sort) params.set("sort", filters.sort); // the rows in the order on screen
  params.set("format", type);
  await download(base() + "/appeals/export?" + params, "appeals." + type);
}

// -- the card --------------------------------------------------------------------------------

let cardToken = 0;
let card = null;
let blobUrls = [];
let dropMain = null;
let dropSecondary = null;
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
    dropButtons();
    for (const url of blobUrls) URL.revokeObjectURL(url);
    blobUrls = [];
  };
  cardView.replaceChildren(...[back.element, spinner()].filter(Boolean));
  const first = early?.id === id ? early.card : null;
  early = null;
  try {
    const data = await (first || api(base() + "/appeals/" + id));
    if (token !== cardToken) return;
    drawCard(data, back.element);
  } catch (error) {
    if (token === cardToken) cardView.replaceChildren(...[back.element, errorScreen(error, () => showCard(id))].filter(Boolean));
  }
}

function dropButtons() {
  dropMain?.();
  dropSecondary?.();
  dropMain = dropSecondary = null;
}

/** Draw the card after an action answered with its new state. */
function updateCard(data) {
  changed.set(data.id, data);
  drawCard(data, cardView.querySelector(".back"));
}

function drawCard(data, backElement) {
  card = data;
  dropButtons();
  document.title = card.reg_number;
  const mainSlot = h("div", { class: "main-action" });
  cardView.replaceChildren(
    ...[
      backElement,
      cardHeader(),
      notes(),
      quickActions(),
      mainSlot,
      handlingBlock(),
      section(_("Appeal"), { id: "appeal" }, h("p", { class: "appeal-text", id: "text" }, card.text)),
      residentBlock(),
      earlierBlock(),
      filesBlock(),
      documentsBlock(),
      relatedBlock("duplicates", _("Possible duplicates"), card.duplicates, true),
      relatedBlock("linked", _("Linked appeals"), card.linked, false),
      commentsBlock(),
      historyBlock(),
    ].filter(Boolean),
  );
  const main = mainAction();
  if (main) dropMain = mainButton(main.text, main.run, mainSlot);
  const second = secondaryAction();
  // Telegram's second bottom button; in a browser the tiles above offer the same.
  if (second) dropSecondary = secondaryButton(second.text, second.run, null);
}

function isOpen() {
  return OPEN.includes(card.status) && !card.merged_into_id;
}

function mine() {
  return card.assignee_id === me.id;
}

function canAnswer() {
  return isOpen() && card.allowed_statuses.includes("answered");
}

/** The card's one main action: take it, else write the answer. */
function mainAction() {
  if (!isOpen()) return null;
  if (!mine()) return { text: _("Take the appeal"), run: act(take) };
  if (canAnswer()) return { text: _("Write an answer"), run: () => openAnswer() };
  return null;
}

/** Beside it: hand the appeal on before taking it, ask the resident once it is yours. */
function secondaryAction() {
  if (!isOpen()) return null;
  if (!mine()) return { text: _("Assign"), run: () => openAssign() };
  if (card.can_request_info) return { text: _("Ask the resident"), run: () => openRequestInfo() };
  return null;
}

/** Every action the appeal's state allows, for the tiles and the "More" sheet. */
function actions() {
  const allowed = new Set(card.allowed_statuses);
  const open = isOpen();
  return [
    canAnswer() && { key: "answer", icon: "✍️", label: _("Answer"), run: openAnswer, tile: true },
    open && { key: "assign", icon: "👤", label: _("Assign"), run: openAssign, tile: true },
    { key: "note", icon: "📝", label: _("Note"), run: openNote, tile: true },
    card.can_request_info && { key: "request-info", icon: "❓", label: _("Ask the resident"), run: openRequestInfo },
    open && !card.extended && { key: "extend", icon: "⏳", label: _("Extend the deadline"), run: openExtend },
    allowed.has("in_progress") && card.status !== "registered" && { key: "in-progress", icon: "↩️", label: _("Back to work"), run: act(() => setStatus("in_progress")) },
    open && card.can_redirect && allowed.has("redirected") && { key: "redirect", icon: "↪️", label: _("Redirect to the competent body"), run: openRedirect, danger: true },
    open && allowed.has("no_answer_required") && { key: "no-answer", icon: "🚫", label: _("Leave without an answer"), run: openNoAnswer, danger: true },
    card.can_forward_crime_report && { key: "crime-report", icon: "🚨", label: _("Forward as a report of a crime"), run: openCrimeReport, danger: true },
    allowed.has("closed") && { key: "close", icon: "🗄️", label: _("Close the appeal"), run: act(closeAppeal), danger: true },
  ].filter(Boolean);
}

function quickActions() {
  const all = actions();
  const tiles = all.filter((a) => a.tile);
  const rest = all.filter((a) => !a.tile);
  const tile = (a) => h("button", { type: "button", class: "quick-action", "data-action": a.key, onclick: () => a.run() }, h("span", { class: "action-icon", "aria-hidden": "true" }, a.icon), a.label);
  const moreTile =
    rest.length > 0 &&
    h(
      "button",
      { type: "button", class: "quick-action", id: "more-actions", "aria-haspopup": "dialog", onclick: () => actionSheet({ id: "actions", title: _("Actions"), actions: rest }) },
      h("span", { class: "action-icon", "aria-hidden": "true" }, "⋯"),
      _("More"),
    );
  return h("div", { class: "quick-actions", id: "actions-bar", role: "group", "aria-label": _("Actions") }, tiles.map(tile), moreTile);
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
      card.category && h("span", {}, "· " + card.category),
    ),
  );
}

/** Deadline, who handles it, where it came from: one fact per line. */
function handlingBlock() {
  const left = timeLeft(card);
  const facts = [
    [_("Deadline"), h("span", { id: "due", class: "due " + card.deadline }, dueText(card), left && h("span", { class: "sub", id: "left" }, left))],
    [_("Assignee"), h("span", { id: "assignee" }, card.assignee_name || _("Not assigned"))],
    card.department && [_("Department"), h("span", { id: "department" }, card.department)],
    [_("Source"), h("span", { id: "source" }, sourceTitle(card.source || "bot"))],
    [_("Registered"), formatDate(card.registered_at, DATE_TIME)],
  ].filter(Boolean);
  return section(null, { id: "handling" }, factList(facts));
}

function factList(facts) {
  return h("dl", { class: "facts" }, facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

/** What the clerk should know before acting: merges, redirects, flags, the rating. */
function notes() {
  const items = [];
  if (card.merged_into) {
    items.push(h("p", {}, format(_("Merged into {number}."), { number: card.merged_into.reg_number }), " ", h("button", { type: "button", class: "link", onclick: () => openCard(card.merged_into.id) }, _("Open it"))));
  }
  if (card.redirected_to && card.status === "no_answer_required") {
    items.push(h("p", { id: "crime-report" }, format(_("Forwarded as a report of a crime to: {body}"), { body: card.redirected_to })));
  } else if (card.redirected_to) {
    items.push(h("p", {}, format(_("Redirected to: {body}"), { body: card.redirected_to })));
  }
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
  return section(_("Resident"), { id: "resident" }, factList(facts));
}

/** The same resident's other appeals in this town, newest first (when the server lists them). */
function earlierBlock() {
  const items = card.resident_appeals;
  if (!Array.isArray(items) || !items.length) return null;
  return section(
    _("Resident's earlier appeals"),
    { id: "earlier" },
    h(
      "ul",
      { class: "related" },
      items.map((other) =>
        h(
          "li",
          { "data-id": other.id },
          h("a", { href: pageUrl(other.id), onclick: (event) => { event.preventDefault(); openCard(other.id); } }, other.reg_number),
          " · ",
          h("span", { class: "hint" }, [statusTitle(other.status), other.registered_at && formatDate(other.registered_at, SHORT_DATE)].filter(Boolean).join(" · ")),
          other.excerpt && h("span", { class: "excerpt" }, other.excerpt),
        ),
      ),
    ),
  );
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
  return section(
    _("Attachments"),
    { id: "files" },
    images.length > 0 && h("div", { class: "photos" }, images.map(photo)),
    others.length > 0 && h("div", { class: "file-list" }, others.map((f) => fileButton(f, "📄 " + f.filename + " · " + fileSize(f.size)))),
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
  return h("button", { type: "button", class: "link file", "data-file": file.id, onclick: act(() => download(apiPath(file.url), file.filename)) }, label);
}

function documentsBlock() {
  if (!card.documents.length) return null;
  return section(
    _("Answer"),
    { id: "documents" },
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
 * One action's form in a sheet. Its main button (Telegram's, in Telegram) asks first when
 * `ask` gives a question, shows the server's refusal inside the sheet (keeping what was typed:
 * nothing is redrawn on failure) and closes it and redraws the card on success.
 */
function actionForm({ id, title, hint, fields, button, run, ask, done, after }) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const submit = async () => {
    error.hidden = true;
    if (ask && !(await confirmDialog(ask()))) return;
    const control = opened.footer.querySelector(".main-button");
    if (control) control.disabled = true;
    try {
      const updated = await run();
      for (const named of opened.body.querySelectorAll("[name]")) typed.delete(named.name);
      await after?.();
      haptic("success");
      opened.close();
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
  const opened = sheet({
    id, title,
    content: [hint && h("p", { class: "hint" }, hint), h("div", { class: "section" }, fields), error],
    main: { text: button, run: submit },
  });
  return opened;
}

function draftKey() {
  return "answer_" + townId + "_" + card.id; // CloudStorage keys: letters, digits, _ and -
}

let serverDrafts = false; // the answer-draft route also keeps what was typed (saved_at)

async function openAnswer() {
  const body = field("answer", h("textarea", { class: "answer-text", rows: "12", "aria-label": _("Text of the answer") }));
  const state = h("p", { class: "hint draft-state", id: "draft-state" });
  const appealId = card.id;
  const key = draftKey();
  const opened = actionForm({
    id: "answer-form",
    title: _("Answer"),
    hint: _("The text starts from the category's template. The answer is registered as an outgoing document, rendered to PDF and sent to the resident."),
    fields: [body, state],
    button: _("Send answer"),
    ask: () => _("Send the answer? It will be registered as an outgoing document and sent to the resident; it cannot be taken back."),
    run: () => post("/answer", { body: body.value }),
    // Sent: the draft has done its job, on this device, in the cloud and on the server.
    after: async () => {
      await keep(key, "");
      if (serverDrafts) api(base() + "/appeals/" + appealId + "/answer-draft", { method: "DELETE" }).catch(() => {});
    },
    done: _("The answer has been registered and sent."),
  });
  const save = debounce(async () => {
    if (card?.id !== appealId) return;
    await keep(key, body.value);
    if (serverDrafts) await api(base() + "/appeals/" + appealId + "/answer-draft", { method: "PUT", body: { body: body.value } }).catch(() => {});
    state.textContent = format(_("Draft saved at {time}"), { time: formatDate(new Date().toISOString(), { timeStyle: "short" }) });
  }, DRAFT_DELAY_MS);
  body.addEventListener("input", save);
  if (body.value) return opened; // typed in this card before: the text is still there
  body.disabled = true;
  body.placeholder = _("Loading…");
  try {
    const [local, server] = await Promise.all([kept(key), api(base() + "/appeals/" + appealId + "/answer-draft")]);
    serverDrafts = "saved_at" in server;
    const serverAt = server.saved_at ? Date.parse(server.saved_at) : 0;
    if (local && local.value && local.at >= serverAt) {
      body.value = local.value;
      state.textContent = format(_("Your unsent draft of {date} is back."), { date: formatDate(new Date(local.at).toISOString(), DATE_TIME) });
    } else {
      body.value = server.body;
      if (serverAt) state.textContent = format(_("Your unsent draft of {date} is back."), { date: formatDate(server.saved_at, DATE_TIME) });
    }
    typed.set("answer", body.value);
  } catch (failure) {
    notice(failure.message, "error");
  } finally {
    body.disabled = false;
    body.placeholder = "";
    body.focus();
  }
  return opened;
}

function openAssign() {
  const select = field("assignee", h("select", { "aria-label": _("Colleague") }, h("option", { value: "" }, _("Loading…"))));
  actionForm({
    id: "assign-form",
    title: _("Assign to a colleague"),
    fields: [select],
    button: _("Assign"),
    run: () => {
      if (!select.value) throw new Error(_("Choose a colleague."));
      return post("/assign", { assignee_id: Number(select.value) });
    },
    done: _("The appeal has been assigned."),
  });
  (async () => {
    try {
      staff = staff || (await api(base() + "/appeals/staff"));
      const chosen = typed.get("assignee") || "";
      select.replaceChildren(
        h("option", { value: "", selected: !chosen }, _("Choose a colleague")),
        ...staff.map((person) => h("option", { value: String(person.id), selected: String(person.id) === chosen }, person.id === me.id ? format(_("{name} (me)"), { name: person.name }) : person.name)),
      );
    } catch (failure) {
      notice(failure.message, "error");
    }
  })();
}

function openNote() {
  const text = field("note", h("textarea", { rows: "4", "aria-label": _("Internal note") }));
  actionForm({
    id: "note-form",
    title: _("Internal note"),
    hint: _("Only staff see notes; the resident does not."),
    fields: [text],
    button: _("Add note"),
    run: () => post("/comments", { text: text.value }),
    done: _("Note added."),
  });
  text.focus();
}

function openRequestInfo() {
  const text = field("question", h("textarea", { rows: "4", "aria-label": _("Question to the resident") }));
  actionForm({
    id: "request-info-form",
    title: _("Ask the resident for more information"),
    hint: _("The question goes to the resident's chat; their reply appears in the comments."),
    fields: [text],
    button: _("Send the question"),
    run: () => post("/request-info", { text: text.value }),
    done: _("The question has been sent to the resident."),
  });
  text.focus();
}

function openExtend() {
  const days = field("days", h("input", { type: "number", class: "input", min: "1", max: "30", step: "1", inputmode: "numeric" }));
  const reason = field("reason", h("textarea", { rows: "2" }));
  actionForm({
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

function openRedirect() {
  const to = field("redirect", h("input", { type: "text", class: "input", maxlength: "300" }));
  actionForm({
    id: "redirect-form",
    title: _("Redirect to the competent body"),
    hint: _("Within 7 days of registration; the resident is told where the appeal went."),
    fields: [labelled(_("Competent body"), to)],
    button: _("Redirect"),
    ask: () => format(_("Redirect the appeal to “{body}”? The resident will be told, and the appeal leaves your queue."), { body: to.value.trim() }),
    run: () => post("/redirect", { to: to.value }),
    done: _("The appeal has been redirected."),
  });
}

function openNoAnswer() {
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
  actionForm({
    id: "no-answer-form",
    title: _("Leave without an answer"),
    hint: _("Only on a ground of 59-FZ art. 11; the resident is told the reason."),
    fields: [labelled(_("Reason"), select), explain],
    button: _("Leave without an answer"),
    ask: () => _("Leave the appeal without an answer? The resident will be told the reason; this cannot be undone."),
    run: () => {
      if (!select.value) throw new Error(_("Choose a reason."));
      return post("/no-answer", { reason: select.value });
    },
    done: _("The appeal is left without an answer."),
  });
}

function openCrimeReport() {
  // 59-FZ art. 11 p. 1: no answer without a name or reply address, but a report of a crime
  // still goes to the body competent to act on it. The server allows exactly that case.
  const to = field("crime-report", h("input", { type: "text", class: "input", maxlength: "300" }));
  actionForm({
    id: "crime-report-form",
    title: _("Forward as a report of a crime"),
    hint: _("The appeal is not answered (no name or no reply address), but it reports a crime: under 59-FZ art. 11 p. 1 it goes to the competent body, such as the police or the prosecutor's office."),
    fields: [labelled(_("Competent body"), to)],
    button: _("Forward"),
    ask: () => format(_("Forward the appeal to “{body}” as a report of a crime? This is recorded in its history."), { body: to.value.trim() }),
    run: () => post("/forward-crime-report", { to: to.value }),
    done: _("The appeal has been forwarded as a report of a crime."),
  });
}

// -- related appeals, comments, history --------------------------------------------------------

function relatedBlock(id, title, items, mergeable) {
  if (!items.length) return null;
  // Merging is for problem reports: this one is folded into the other, which gets one answer.
  const canMerge = mergeable && isOpen() && card.kind === "report";
  return section(
    title,
    { id },
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
  return section(
    _("Comments"),
    { id: "comments" },
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
  return section(
    null,
    { id: "history" },
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
    case "appeal.crime_report_forwarded":
      return format(_("Forwarded as a report of a crime to {body}"), { body: details.to || "" });
    case "appeal.rate":
      return format(_("The resident rated the answer {rating} of 5."), { rating: details.rating });
    default:
      return entry.action;
  }
}

main();
