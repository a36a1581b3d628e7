// The town's administration: its calendar, the services it has on (each one's settings are
// drawn from the JSON schema of its manifest's model, so a new service needs nothing here),
// who may do what, departments, categories of appeals, staff and their invitation links,
// Open311 keys and the audit log; and, for the platform's administrators, the towns.
//
// One page, one view at a time (?view=...), so reloading and the back button work; a view's
// actions are Telegram's bottom buttons in Telegram and sheets over the view.
import {
  _, act, actionSheet, api, appUrl, backControl, closeSheets, confirmDialog, errorScreen, errorView, field, format, formatDate, h,
  haptic, input, mainButton, ngettext, notice, openTelegramLink, prefetch, section, select, sheet, spinner, start, useLocale,
  useTimeZone,
} from "../shared/glocal.js";

const root = document.getElementById("app");
const SHORT_DATE = { day: "numeric", month: "short", year: "numeric" };
const DATE_TIME = { dateStyle: "medium", timeStyle: "short" };
// Offered in the time zone field; any IANA name is accepted.
const ZONES = [
  "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk", "Asia/Novosibirsk",
  "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka",
];
const DEPARTMENT_ROLES = ["clerk", "department_head"];

let me = null;
let townId = null;
let data = null; // GET /admin/settings: the town, its components, the roles
let leaveView = null;

// -- start ---------------------------------------------------------------------------------

async function main() {
  const meRequest = prefetch("/me");
  if (!(await start())) return;
  window.addEventListener("popstate", () => route());
  try {
    me = await meRequest;
    await useLocale(me.locale);
  } catch (error) {
    root.replaceChildren(errorScreen(error, () => location.reload()));
    return;
  }
  const asked = positiveInt(new URLSearchParams(location.search).get("town"));
  const mine = adminTowns();
  townId = mine.find((t) => t.id === asked)?.id || mine.find((t) => t.id === me.current_municipality?.id)?.id || mine[0]?.id || null;
  if (!townId && !me.is_platform_admin) {
    root.replaceChildren(
      errorScreen({ status: 403, message: _("Only the town's administrators can open this section.") }),
    );
    return;
  }
  route();
}

function positiveInt(value) {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** Towns where the person is an administrator. */
function adminTowns() {
  return me.memberships.filter((m) => m.role === "admin").map((m) => m.municipality);
}

function town() {
  return adminTowns().find((t) => t.id === townId) || null;
}

function base() {
  return "/municipalities/" + townId;
}

function roleTitle(value) {
  return data?.roles.find((r) => r.value === value)?.title || value;
}

// -- views and history ------------------------------------------------------------------------

function viewUrl(view, extra = {}) {
  const url = new URL(location.href);
  for (const key of ["view", "slug"]) url.searchParams.delete(key);
  if (townId) url.searchParams.set("town", townId);
  if (view && view !== "home") url.searchParams.set("view", view);
  for (const [key, value] of Object.entries(extra)) url.searchParams.set(key, value);
  return url.href; // the hash (launch data) stays
}

function go(view, extra) {
  history.pushState({ inApp: true }, "", viewUrl(view, extra));
  route();
}

function goBack() {
  if (history.state?.inApp) history.back();
  else {
    history.replaceState(null, "", viewUrl("home"));
    route();
  }
}

const VIEWS = {
  home: showHome, town: showTown, services: showServices, service: showService, departments: showDepartments,
  categories: showCategories, staff: showStaff, keys: showKeys, audit: showAudit, platform: showPlatform,
};

async function route() {
  closeSheets();
  leaveView?.();
  leaveView = null;
  notice("");
  const params = new URLSearchParams(location.search);
  let view = params.get("view") || "home";
  if (!townId) view = "platform"; // a platform administrator of no town
  const show = VIEWS[view] || showHome;
  const page = h("section", { id: "view-" + view, class: "view" }, spinner());
  root.replaceChildren(page);
  window.scrollTo(0, 0);
  const drops = [];
  if (view !== "home" && townId) {
    const back = backControl(goBack, _("Administration"));
    drops.push(back.drop);
    if (back.element) root.prepend(back.element);
  } else {
    const back = backControl(() => location.assign(appUrl("hub/")), _("Services"));
    drops.push(back.drop);
    if (back.element) root.prepend(back.element);
  }
  leaveView = () => drops.forEach((drop) => drop());
  try {
    if (townId) useTimeZone(town()?.timezone);
    await show(page, params, drops);
  } catch (error) {
    page.replaceChildren(errorView(error, () => route()));
  }
  page.setAttribute("data-ready", "true");
}

/** The view's main action as Telegram's bottom button (or a button at the end of `page`). */
function viewButton(drops, text, run, page) {
  drops.push(mainButton(text, run, page));
}

async function loadSettings() {
  data = await api(base() + "/admin/settings");
  return data;
}

function component(slug) {
  return data?.components.find((c) => c.slug === slug) || null;
}

function appealsOn() {
  const appeals = component("appeals");
  return Boolean(appeals && appeals.enabled);
}

// -- small building blocks ------------------------------------------------------------------------

function switchRow(label, checked, attrs = {}) {
  const box = h("input", { type: "checkbox", role: "switch", class: "switch", checked: Boolean(checked), ...attrs });
  return { element: h("label", { class: "switch-row" }, h("span", {}, label), box), box };
}

function row({ title, subtitle, tags = [], onclick, attrs = {} }) {
  return h(
    "button",
    { type: "button", class: "row", onclick, ...attrs },
    h("span", { class: "row-text" }, h("strong", {}, title), subtitle && h("span", { class: "hint" }, subtitle)),
    tags.length ? h("span", { class: "tags" }, tags.map((t) => h("span", { class: "tag" }, t))) : null,
    h("span", { class: "row-chevron", "aria-hidden": "true" }, "›"),
  );
}

function list(children, attrs = {}) {
  return h("div", { class: "section rows", ...attrs }, children);
}

/** A form's error line: the server's message; the fields it names are marked. */
function showError(slot, error, form) {
  slot.textContent = error.message;
  slot.hidden = false;
  for (const el of form?.querySelectorAll("[aria-invalid]") || []) el.removeAttribute("aria-invalid");
  for (const name of error.fields || []) {
    const el = form?.querySelector(`[data-field="${CSS.escape(name)}"]`) || form?.querySelector(`[data-field="${CSS.escape(name.split(".").slice(0, 2).join("."))}"]`);
    el?.setAttribute("aria-invalid", "true");
  }
  haptic("error");
}

function errorLine() {
  return h("p", { class: "form-error", role: "alert", hidden: true });
}

/** A Latin code from a name, for category codes and town addresses. */
function latin(text, separator) {
  const map = {
    а: "a", б: "b", в: "v", г: "g", д: "d", е: "e", ё: "e", ж: "zh", з: "z", и: "i", й: "y", к: "k", л: "l", м: "m", н: "n", о: "o",
    п: "p", р: "r", с: "s", т: "t", у: "u", ф: "f", х: "h", ц: "ts", ч: "ch", ш: "sh", щ: "sch", ъ: "", ы: "y", ь: "", э: "e", ю: "yu", я: "ya",
  };
  const out = [...text.toLowerCase()].map((c) => (c in map ? map[c] : c)).join("");
  return out.replace(/[^a-z0-9]+/g, separator).replace(new RegExp(`^\\${separator}+|\\${separator}+$`, "g"), "").slice(0, 32);
}

/** A value to copy (a link, a key): a read-only field with Copy, and Share for links. */
function copyBlock(value, { share = false } = {}) {
  const box = input({ id: "copy-value", readonly: true, value, onfocus: (event) => event.target.select() });
  const copy = h("button", {
    type: "button", class: "button secondary small", id: "copy",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(value);
        notice(_("Copied."));
        haptic("success");
      } catch {
        box.focus();
        box.select();
        notice(_("Select the text and copy it."));
      }
    },
  }, _("Copy"));
  const shareButton = share && h("button", {
    type: "button", class: "button secondary small", id: "share",
    onclick: () => openTelegramLink("https://t.me/share/url?url=" + encodeURIComponent(value)),
  }, _("Send in Telegram"));
  return h("div", { class: "copy-block" }, box, h("div", { class: "copy-actions" }, copy, shareButton));
}

// -- home --------------------------------------------------------------------------------------

async function showHome(page) {
  document.title = _("Administration");
  await loadSettings();
  const towns = adminTowns();
  const chooser = towns.length > 1
    && select({ id: "town-select", "aria-label": _("Town"), onchange: (event) => {
      townId = Number(event.target.value);
      history.replaceState(null, "", viewUrl("home"));
      route();
    } }, towns.map((t) => [t.id, t.name]), townId);
  const sections = [
    ["town", "🗓", _("Town and calendar"), _("Name, time zone, days off and worked weekends")],
    ["services", "🧩", _("Services"), _("Which are on, their settings, who may do what")],
    ["departments", "🏢", _("Departments"), _("Units of the administration")],
    appealsOn() && ["categories", "🗂", _("Categories of appeals"), _("Their departments and answer templates")],
    ["staff", "👥", _("Staff"), _("Roles and invitation links")],
    appealsOn() && ["keys", "🔑", _("Open311 keys"), _("For dashboards and apps that file reports")],
    ["audit", "📜", _("Audit log"), _("Who changed what, and when")],
    me.is_platform_admin && ["platform", "🌐", _("Towns of the platform"), _("New towns and their first administrators")],
  ].filter(Boolean);
  page.replaceChildren(
    h("header", { class: "view-head" }, h("h1", {}, _("Administration")), chooser || h("p", { class: "hint", id: "town" }, data.town.name)),
    h(
      "nav",
      { class: "cards" },
      sections.map(([view, icon, title, hint]) =>
        h(
          "a",
          { class: "card", href: viewUrl(view), "data-view": view, onclick: (event) => {
            event.preventDefault();
            go(view);
          } },
          h("span", { class: "card-icon", "aria-hidden": "true" }, icon),
          h("span", { class: "card-text" }, h("strong", {}, title), h("span", { class: "hint" }, hint)),
        ),
      ),
    ),
  );
}

// -- the town and its calendar ----------------------------------------------------------------------

async function showTown(page, _params, drops) {
  document.title = _("Town and calendar");
  const current = (await loadSettings()).town;
  const state = { ...current, holidays: [...current.holidays], working_weekends: [...current.working_weekends] };
  const error = errorLine();
  const name = input({ id: "town-name", "data-field": "name", value: state.name, maxlength: 200 });
  const zone = input({ id: "town-timezone", "data-field": "timezone", value: state.timezone, list: "zones", maxlength: 64 });
  const zones = h("datalist", { id: "zones" }, ZONES.map((z) => h("option", { value: z })));
  const mode = h("div", { class: "segmented", role: "group", "aria-label": _("Terms are counted in") });
  const modeHint = h("p", { class: "hint" });
  function drawMode() {
    mode.replaceChildren(
      ...[[true, _("Calendar days")], [false, _("Working days")]].map(([value, label]) =>
        h("button", { type: "button", "data-mode": String(value), "aria-pressed": String(state.calendar_days === value), onclick: () => {
          state.calendar_days = value;
          drawMode();
        } }, label),
      ),
    );
    modeHint.textContent = state.calendar_days
      ? _("59-FZ terms run on calendar days: the days off below do not move them.")
      : _("Terms skip Saturdays, Sundays and the days off below; worked weekends count as working days.");
  }
  drawMode();
  const form = h(
    "form",
    { id: "town-form", onsubmit: (event) => event.preventDefault() },
    section(_("Town"), {}, field(_("Name of the town"), name), field(_("Time zone"), zone, _("Deadlines end at midnight in this zone.")), zones),
    section(_("Terms are counted in"), {}, mode, modeHint),
    dateList("holidays", _("Days off"), _("Public holidays and other days off besides Saturdays and Sundays."), state),
    dateList("working_weekends", _("Worked weekends"), _("Saturdays and Sundays that the production calendar makes working days."), state),
    error,
  );
  page.replaceChildren(h("header", { class: "view-head" }, h("h1", {}, _("Town and calendar"))), form);
  viewButton(drops, _("Save"), async () => {
    try {
      const saved = await api(base() + "/admin/town", {
        method: "PATCH",
        body: { name: name.value, timezone: zone.value.trim(), calendar_days: state.calendar_days, holidays: state.holidays, working_weekends: state.working_weekends },
      });
      error.hidden = true;
      Object.assign(state, saved);
      const membership = me.memberships.find((m) => m.municipality.id === townId);
      if (membership) Object.assign(membership.municipality, { name: saved.name, timezone: saved.timezone });
      notice(_("Saved."));
      haptic("success");
    } catch (err) {
      showError(error, err, form);
    }
  }, page);
}

function dateList(key, title, hint, state) {
  const chips = h("div", { class: "chips", id: key + "-list" });
  const picker = input({ type: "date", id: key + "-date", "aria-label": title });
  function draw() {
    state[key].sort();
    chips.replaceChildren(
      ...state[key].map((day) =>
        h("span", { class: "chip date-chip", "data-date": day },
          h("span", {}, formatDate(day + "T12:00:00Z", SHORT_DATE)),
          h("button", { type: "button", class: "chip-remove", "aria-label": format(_("Remove {date}"), { date: day }), onclick: () => {
            state[key] = state[key].filter((d) => d !== day);
            draw();
          } }, "✕"),
        ),
      ),
    );
    if (!state[key].length) chips.append(h("span", { class: "hint" }, _("None yet.")));
  }
  draw();
  const add = h("button", { type: "button", class: "button secondary small", id: key + "-add", onclick: () => {
    if (picker.value && !state[key].includes(picker.value)) state[key].push(picker.value);
    picker.value = "";
    draw();
  } }, _("Add"));
  return section(title, { "data-field": key }, h("p", { class: "hint" }, hint), chips, h("div", { class: "date-add" }, picker, add));
}

// -- services ------------------------------------------------------------------------------------

async function showServices(page) {
  document.title = _("Services");
  await loadSettings();
  // Core pages without settings or actions have nothing to change.
  const shown = data.components.filter((c) => !c.always_on || c.settings_schema || c.actions.length);
  page.replaceChildren(
    h("header", { class: "view-head" }, h("h1", {}, _("Services"))),
    list(
      shown.map((c) =>
        row({
          title: c.icon + " " + c.title,
          subtitle: c.description,
          tags: [c.always_on ? _("always on") : c.enabled ? _("on") : _("off")],
          attrs: { "data-slug": c.slug, "data-enabled": String(c.enabled) },
          onclick: () => go("service", { slug: c.slug }),
        }),
      ),
    ),
  );
}

async function showService(page, params, drops) {
  await loadSettings();
  const c = component(params.get("slug"));
  if (!c) throw Object.assign(new Error(_("This service is not installed.")), { status: 404 });
  document.title = c.title;
  const error = errorLine();
  const enabled = switchRow(_("Switched on in this town"), c.enabled, { id: "enabled", "data-field": "enabled", disabled: c.always_on });
  const form = schemaForm(c.settings_schema, c.settings);
  const permissions = permissionsForm(c);
  const body = h(
    "form",
    { id: "service-form", onsubmit: (event) => event.preventDefault() },
    section(null, {}, enabled.element, c.always_on ? h("p", { class: "hint" }, _("A core page: it cannot be switched off.")) : null),
    form && section(_("Settings"), { id: "settings" }, form.element),
    c.actions.length ? section(_("Who may do what"), { id: "permissions" }, permissions.element) : null,
    error,
  );
  page.replaceChildren(
    h("header", { class: "view-head" }, h("h1", {}, c.icon + " " + c.title), h("p", { class: "hint" }, c.description)),
    body,
  );
  viewButton(drops, _("Save"), async () => {
    const patch = {};
    if (!c.always_on && enabled.box.checked !== c.enabled) patch.enabled = enabled.box.checked;
    if (form) patch.settings = form.read();
    try {
      const saved = await api(base() + "/admin/components/" + c.slug, { method: "PATCH", body: patch });
      Object.assign(c, saved);
      error.hidden = true;
      for (const el of body.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
      notice(_("Saved."));
      haptic("success");
    } catch (err) {
      showError(error, err, body);
    }
  }, page);
}

/** A form for a pydantic model's JSON schema: switches, numbers, choices, text, dates, lists. */
function schemaForm(schema, values) {
  if (!schema?.properties || !Object.keys(schema.properties).length) return null;
  const readers = [];
  const element = h("div", { class: "schema-form" });
  for (const [name, prop] of Object.entries(schema.properties)) {
    const nullable = (prop.anyOf || []).some((a) => a.type === "null");
    const node = { ...((prop.anyOf || []).find((a) => a.type !== "null") || {}), ...prop };
    delete node.anyOf;
    const label = prop.title || name;
    const value = Object.hasOwn(values || {}, name) ? values[name] : prop.default;
    const key = "settings." + name;
    if (node.type === "boolean") {
      const control = switchRow(label, value, { name, "data-field": key });
      element.append(control.element, prop.description ? h("p", { class: "hint field-hint" }, prop.description) : "");
      readers.push([name, () => control.box.checked]);
    } else if (node.enum) {
      const labels = prop["x-options"] || {};
      const options = [...(nullable ? [["", "—"]] : []), ...node.enum.map((v) => [v, labels[v] || String(v)])];
      const control = select({ name, "data-field": key }, options, value);
      element.append(field(label, control, prop.description));
      readers.push([name, () => (control.value === "" && nullable ? null : node.enum.find((v) => String(v) === control.value))]);
    } else if (node.type === "integer" || node.type === "number") {
      const control = input({
        type: "number", name, "data-field": key, inputmode: node.type === "integer" ? "numeric" : "decimal",
        min: node.minimum, max: node.maximum, step: node.type === "integer" ? 1 : "any", value: value ?? "",
      });
      element.append(field(label, control, prop.description || rangeHint(node)));
      readers.push([name, () => (control.value === "" ? (nullable ? null : undefined) : Number(control.value))]);
    } else if (node.type === "string") {
      const control = input({ type: node.format === "date" ? "date" : "text", name, "data-field": key, maxlength: node.maxLength, value: value ?? "" });
      element.append(field(label, control, prop.description));
      readers.push([name, () => (control.value.trim() === "" && nullable ? null : control.value.trim())]);
    } else if (node.type === "array") {
      const control = h("textarea", { name, "data-field": key, rows: 3 }, (value || []).join("\n"));
      element.append(field(label, control, prop.description || _("One value per line.")));
      readers.push([name, () => control.value.split("\n").map((v) => v.trim()).filter(Boolean)]);
    } else {
      const control = h("textarea", { name, "data-field": key, rows: 3 }, JSON.stringify(value ?? null));
      element.append(field(label, control, prop.description));
      readers.push([name, () => {
        try {
          return JSON.parse(control.value);
        } catch {
          return control.value;
        }
      }]);
    }
  }
  return {
    element,
    read() {
      const out = {};
      for (const [name, read] of readers) {
        const v = read();
        if (v !== undefined) out[name] = v;
      }
      return out;
    },
  };
}

function rangeHint(node) {
  if (node.minimum !== undefined && node.maximum !== undefined) return format(_("From {min} to {max}."), { min: node.minimum, max: node.maximum });
  return null;
}

/** Who may perform each action: a row per action; its sheet of role chips saves at once. */
function permissionsForm(c) {
  const element = h("div", { class: "rows", id: "actions" });
  function draw() {
    element.replaceChildren(
      ...c.actions.map((a) => row({
        title: a.title,
        subtitle: a.roles.length === data.roles.length ? _("Everyone") : a.roles.map(roleTitle).join(", ") || "—",
        tags: a.overridden ? [_("changed")] : [],
        attrs: { "data-action": a.name, "data-field": "permissions." + a.name },
        onclick: () => actionRolesSheet(c, a, draw),
      })),
    );
  }
  draw();
  return { element };
}

function actionRolesSheet(c, a, redraw) {
  const roles = new Set(a.roles);
  const error = errorLine();
  const chips = h("div", { class: "chips", id: "action-roles" });
  function draw() {
    chips.replaceChildren(
      ...data.roles.map((r) =>
        h("button", { type: "button", class: "chip", "data-role": r.value, "aria-pressed": String(roles.has(r.value)), onclick: () => {
          if (roles.has(r.value)) roles.delete(r.value);
          else roles.add(r.value);
          draw();
        } }, h("span", { class: "chip-label" }, r.title)),
      ),
    );
  }
  draw();
  async function save(value) {
    try {
      const saved = await api(base() + "/admin/components/" + c.slug, { method: "PATCH", body: { permissions: { [a.name]: value } } });
      Object.assign(c, saved);
      opened.close();
      redraw();
      notice(_("Saved."));
      haptic("success");
    } catch (err) {
      showError(error, err, opened.element);
    }
  }
  const defaults = a.default_roles.map(roleTitle).join(", ");
  const opened = sheet({
    id: "action-sheet", title: a.title,
    content: [
      h("p", { class: "hint" }, _("Who may do this in the town:")),
      section(null, {}, chips, error),
      h("p", { class: "hint" }, format(_("By default: {roles}."), { roles: defaults })),
      a.overridden && h("button", { type: "button", class: "button secondary", id: "reset-action", onclick: act(() => save(null)) }, _("Back to the default")),
    ],
    main: { text: _("Save"), run: () => save(sameSet(roles, a.default_roles) ? null : [...roles].sort()) },
  });
}

function sameSet(set, array) {
  return set.size === array.length && array.every((v) => set.has(v));
}

// -- departments -------------------------------------------------------------------------------------

async function showDepartments(page, _params, drops) {
  document.title = _("Departments");
  const rows = await api(base() + "/admin/departments");
  page.replaceChildren(
    h("header", { class: "view-head" }, h("h1", {}, _("Departments"))),
    rows.length
      ? list(rows.map((d) => row({
        title: d.name,
        subtitle: d.uses ? _("In use: categories, staff or appeals refer to it") : _("Not used yet"),
        tags: d.archived ? [_("archived")] : [],
        attrs: { "data-id": d.id, "data-archived": String(d.archived) },
        onclick: () => departmentActions(d),
      })), { id: "departments" })
      : h("p", { class: "hint empty" }, _("No departments yet.")),
  );
  viewButton(drops, _("Add a department"), () => departmentSheet(null), page);
}

function departmentSheet(dept) {
  const name = input({ id: "department-name", "data-field": "name", value: dept?.name || "", maxlength: 200 });
  const error = errorLine();
  const content = [section(null, {}, field(_("Name of the department"), name), error)];
  const opened = sheet({
    id: "department-sheet", title: dept ? _("Rename the department") : _("New department"), content,
    main: { text: dept ? _("Save") : _("Add"), run: async () => {
      try {
        if (dept) await api(base() + "/admin/departments/" + dept.id, { method: "PATCH", body: { name: name.value } });
        else await api(base() + "/admin/departments", { method: "POST", body: { name: name.value } });
        opened.close();
        notice(_("Saved."));
        route();
      } catch (err) {
        showError(error, err, opened.element);
      }
    } },
  });
  name.focus();
}

function departmentActions(d) {
  actionSheet({
    id: "department-actions", title: d.name,
    actions: [
      { key: "rename", icon: "✏️", label: _("Rename"), run: () => departmentSheet(d) },
      d.archived
        ? { key: "restore", icon: "↩️", label: _("Restore"), run: act(() => archive(d, false)) }
        : { key: "archive", icon: "🗄", label: _("Archive"), run: act(() => archive(d, true)) },
      !d.uses && { key: "delete", icon: "🗑", label: _("Delete"), danger: true, run: act(async () => {
        if (!(await confirmDialog(format(_("Delete the department «{name}»?"), { name: d.name })))) return;
        await api(base() + "/admin/departments/" + d.id, { method: "DELETE" });
        notice(_("Deleted."));
        route();
      }) },
    ].filter(Boolean),
  });
}

async function archive(d, archived) {
  await api(base() + "/admin/departments/" + d.id, { method: "PATCH", body: { archived } });
  notice(archived ? _("Archived: it takes no new categories or staff.") : _("Restored."));
  route();
}

// -- categories of appeals -------------------------------------------------------------------------------

async function showCategories(page, _params, drops) {
  document.title = _("Categories of appeals");
  const [categories, departments] = await Promise.all([api(base() + "/appeal-categories/all"), api(base() + "/admin/departments")]);
  const names = new Map(departments.map((d) => [d.id, d.name]));
  page.replaceChildren(
    h("header", { class: "view-head" }, h("h1", {}, _("Categories of appeals"))),
    categories.length
      ? list(categories.map((c) => row({
        title: c.name,
        subtitle: (c.department_id ? names.get(c.department_id) : _("No department")) + " · " + c.code,
        tags: [!c.active && _("archived"), c.has_template && _("own template")].filter(Boolean),
        attrs: { "data-id": c.id, "data-code": c.code },
        onclick: () => categorySheet(c, departments),
      })), { id: "categories" })
      : h("p", { class: "hint empty" }, _("No categories yet.")),
  );
  viewButton(drops, _("Add a category"), () => categorySheet(null, departments), page);
}

function departmentOptions(departments, current) {
  return [["", _("No department")], ...departments.filter((d) => !d.archived || d.id === current).map((d) => [d.id, d.name])];
}

function categorySheet(c, departments) {
  const error = errorLine();
  const name = input({ id: "category-name", "data-field": "name", value: c?.name || "", maxlength: 200 });
  let codeTouched = Boolean(c);
  const code = input({ id: "category-code", "data-field": "code", value: c?.code || "", maxlength: 32, disabled: Boolean(c), oninput: () => (codeTouched = true) });
  name.addEventListener("input", () => {
    if (!codeTouched) code.value = latin(name.value, "-");
  });
  const dept = select({ id: "category-department", "data-field": "department_id" }, departmentOptions(departments, c?.department_id), c?.department_id ?? "");
  const description = h("textarea", { id: "category-description", "data-field": "description", maxlength: 500, rows: 2 }, c?.description || "");
  const content = [
    section(null, {},
      field(_("Name of the category"), name),
      field(_("Code"), code, _("Latin letters, digits and hyphens; Open311 clients see it.")),
      field(_("Department"), dept, _("New appeals of this category go to its queue.")),
      field(_("Description"), description),
      error,
    ),
    c && section(null, { class: "block sheet-actions" },
      h("button", { type: "button", class: "button secondary", id: "edit-template", onclick: () => templateSheet(c) }, _("Answer template")),
      h("button", { type: "button", class: "button secondary" + (c.active ? " danger-text" : ""), id: "toggle-category", onclick: act(async () => {
        await api(base() + "/appeal-categories/" + c.id, { method: "PATCH", body: { active: !c.active } });
        opened.close();
        notice(c.active ? _("Archived: residents no longer see it.") : _("Restored."));
        route();
      }) }, c.active ? _("Archive") : _("Restore")),
    ),
  ];
  const opened = sheet({
    id: "category-sheet", title: c ? c.name : _("New category"), content,
    main: { text: c ? _("Save") : _("Add"), run: async () => {
      const body = { name: name.value, description: description.value, department_id: dept.value ? Number(dept.value) : null };
      try {
        if (c) await api(base() + "/appeal-categories/" + c.id, { method: "PATCH", body });
        else await api(base() + "/appeal-categories", { method: "POST", body: { ...body, code: code.value.trim() } });
        opened.close();
        notice(_("Saved."));
        route();
      } catch (err) {
        showError(error, err, opened.element);
      }
    } },
  });
}

async function templateSheet(c) {
  const error = errorLine();
  const text = h("textarea", { id: "template-body", class: "template-text", "data-field": "body", rows: 12 }, "");
  const fieldsHint = h("p", { class: "hint" });
  const opened = sheet({
    id: "template-sheet", title: format(_("Answer template: {name}"), { name: c.name }),
    content: [section(null, {}, text, fieldsHint, error)],
    main: { text: _("Save the template"), run: async () => {
      try {
        await api(base() + "/appeal-categories/" + c.id + "/answer-template", { method: "PUT", body: { body: text.value } });
        opened.close();
        notice(_("Saved."));
        route();
      } catch (err) {
        showError(error, err, opened.element);
      }
    } },
  });
  try {
    const tpl = await api(base() + "/appeal-categories/" + c.id + "/answer-template");
    text.value = tpl.body;
    fieldsHint.textContent = format(_("Fields: {fields}. Write them as {{ field }}."), { fields: tpl.fields.join(", ") });
  } catch (err) {
    showError(error, err, opened.element);
  }
}

// -- staff and invitations ------------------------------------------------------------------------------

async function showStaff(page, _params, drops) {
  document.title = _("Staff");
  const [people, invites, departments] = await Promise.all([
    api(base() + "/admin/staff"), api(base() + "/admin/invites"), api(base() + "/admin/departments"), data ? null : loadSettings(),
  ]);
  const names = new Map(departments.map((d) => [d.id, d.name]));
  page.replaceChildren(
    h("header", { class: "view-head" }, h("h1", {}, _("Staff"))),
    list(people.map((p) => row({
      title: p.name || (p.username ? "@" + p.username : "—"),
      subtitle: p.username ? "@" + p.username : null,
      tags: p.roles.map((r) => r.title + (r.department_id && names.has(r.department_id) ? " · " + names.get(r.department_id) : "")),
      attrs: { "data-user": p.user_id },
      onclick: () => staffSheet(p, departments),
    })), { id: "staff" }),
    section(_("Invitations waiting"), { id: "invites" },
      invites.length
        ? h("div", { class: "rows" }, invites.map((i) => h("div", { class: "row static", "data-invite": i.id },
          h("span", { class: "row-text" },
            h("strong", {}, i.title + (i.department_id && names.has(i.department_id) ? " · " + names.get(i.department_id) : "")),
            h("span", { class: "hint" }, format(_("Works until {date}"), { date: formatDate(i.expires_at, DATE_TIME) }))),
          h("button", { type: "button", class: "button secondary small danger-text", onclick: act(async () => {
            await api(base() + "/admin/invites/" + i.id, { method: "DELETE" });
            notice(_("The link no longer works."));
            route();
          }) }, _("Revoke")),
        )))
        : h("p", { class: "hint" }, _("No links are waiting to be used.")),
    ),
  );
  viewButton(drops, _("Invite"), () => inviteSheet(departments), page);
}

function grantableRoles() {
  return data.roles.filter((r) => r.value !== "resident");
}

function inviteSheet(departments) {
  const error = errorLine();
  const role = select({ id: "invite-role", "data-field": "role" }, grantableRoles().map((r) => [r.value, r.title]), "clerk");
  const dept = select({ id: "invite-department", "data-field": "department_id" }, departmentOptions(departments), "");
  const deptField = field(_("Department"), dept);
  const days = select({ id: "invite-days", "data-field": "days" }, [1, 3, 7, 14, 30].map((n) => [n, format(ngettext("{n} day", "{n} days", n), { n })]), 7);
  const syncDept = () => (deptField.hidden = !DEPARTMENT_ROLES.includes(role.value));
  role.addEventListener("change", syncDept);
  syncDept();
  const content = [
    h("p", { class: "hint" }, _("The link gives the role to the first person who opens it in the bot, once.")),
    section(null, {}, field(_("Role"), role), deptField, field(_("The link works for"), days), error),
  ];
  const opened = sheet({
    id: "invite-sheet", title: _("Invite to the staff"), content,
    main: { text: _("Create the link"), run: async () => {
      try {
        const issued = await api(base() + "/admin/invites", {
          method: "POST",
          body: { role: role.value, department_id: DEPARTMENT_ROLES.includes(role.value) && dept.value ? Number(dept.value) : null, days: Number(days.value) },
        });
        opened.close();
        issuedSheet(issued, () => route());
      } catch (err) {
        showError(error, err, opened.element);
      }
    } },
  });
}

/** A link shown once: copy it (or send it in Telegram); without the bot's name, the command. */
function issuedSheet(issued, onClose) {
  const content = issued.link
    ? [h("p", { class: "hint" }, _("Send this link to the person. It works once and is not shown again.")), copyBlock(issued.link, { share: true })]
    : [
      h("p", { class: "hint" }, _("Send this command to the person: they send it to the bot. It works once and is not shown again.")),
      copyBlock("/start " + issued.start),
    ];
  content.push(h("p", { class: "hint" }, format(_("Role: {role}. Works until {date}."), { role: issued.title, date: formatDate(issued.expires_at, DATE_TIME) })));
  const opened = sheet({ id: "issued-sheet", title: _("Invitation link"), content, main: { text: _("Done"), run: () => opened.close() }, onClose });
}

function staffSheet(person, departments) {
  const error = errorLine();
  const held = new Set(person.roles.map((r) => r.role));
  const current = person.roles.find((r) => DEPARTMENT_ROLES.includes(r.role))?.department_id ?? "";
  const chips = h("div", { class: "chips", id: "staff-roles", "data-field": "roles" });
  const dept = select({ id: "staff-department", "data-field": "department_id" }, departmentOptions(departments, current), current);
  const deptField = field(_("Department of a clerk or department head"), dept);
  function draw() {
    chips.replaceChildren(...grantableRoles().map((r) =>
      h("button", { type: "button", class: "chip", "data-role": r.value, "aria-pressed": String(held.has(r.value)), onclick: () => {
        if (held.has(r.value)) held.delete(r.value);
        else held.add(r.value);
        draw();
      } }, h("span", { class: "chip-label" }, r.title)),
    ));
    deptField.hidden = !DEPARTMENT_ROLES.some((r) => held.has(r));
  }
  draw();
  const content = [
    section(_("Roles"), {}, chips, deptField, error),
    section(null, { class: "block sheet-actions" },
      h("button", { type: "button", class: "button secondary danger-text", id: "revoke-staff", onclick: act(async () => {
        if (!(await confirmDialog(format(_("Take every role away from {name}? They stay a resident of the town."), { name: person.name })))) return;
        try {
          await api(base() + "/admin/staff/" + person.user_id, { method: "DELETE" });
          opened.close();
          notice(_("Roles taken away."));
          route();
        } catch (err) {
          showError(error, err, opened.element);
        }
      }) }, _("Take all roles away")),
    ),
  ];
  const opened = sheet({
    id: "staff-sheet", title: person.name, content,
    main: { text: _("Save"), run: async () => {
      try {
        await api(base() + "/admin/staff/" + person.user_id, {
          method: "PUT", body: { roles: [...held].sort(), department_id: dept.value ? Number(dept.value) : null },
        });
        opened.close();
        notice(_("Saved."));
        route();
      } catch (err) {
        showError(error, err, opened.element);
      }
    } },
  });
}

// -- Open311 keys ----------------------------------------------------------------------------------

async function showKeys(page, _params, drops) {
  document.title = _("Open311 keys");
  const keys = await api(base() + "/open311/keys");
  page.replaceChildren(
    h("header", { class: "view-head" }, h("h1", {}, _("Open311 keys")),
      h("p", { class: "hint" }, _("Apps and dashboards with a key may file problem reports into the queue. Reading needs no key."))),
    keys.length
      ? h("div", { class: "section rows", id: "keys" }, keys.map((k) => h("div", { class: "row static", "data-key": k.id },
        h("span", { class: "row-text" }, h("strong", {}, k.name),
          h("span", { class: "hint" }, k.revoked_at
            ? format(_("Revoked {date}"), { date: formatDate(k.revoked_at, SHORT_DATE) })
            : format(_("Issued {date}"), { date: formatDate(k.created_at, SHORT_DATE) }))),
        !k.revoked_at && h("button", { type: "button", class: "button secondary small danger-text", onclick: act(async () => {
          if (!(await confirmDialog(format(_("Revoke the key «{name}»? Its app can no longer file reports."), { name: k.name })))) return;
          await api(base() + "/open311/keys/" + k.id, { method: "DELETE" });
          notice(_("The key is revoked."));
          route();
        }) }, _("Revoke")),
      )))
      : h("p", { class: "hint empty" }, _("No keys yet.")),
  );
  viewButton(drops, _("Issue a key"), () => {
    const error = errorLine();
    const name = input({ id: "key-name", "data-field": "name", maxlength: 100, placeholder: _("e.g. City dashboard") });
    const opened = sheet({
      id: "key-sheet", title: _("New Open311 key"), content: [section(null, {}, field(_("Who gets it"), name), error)],
      main: { text: _("Issue"), run: async () => {
        try {
          const issued = await api(base() + "/open311/keys", { method: "POST", body: { name: name.value } });
          opened.close();
          const shown = sheet({
            id: "issued-key", title: _("The key"), content: [h("p", { class: "hint" }, _("Copy it now: it is not shown again.")), copyBlock(issued.key)],
            main: { text: _("Done"), run: () => shown.close() }, onClose: () => route(),
          });
        } catch (err) {
          showError(error, err, opened.element);
        }
      } },
    });
  }, page);
}

// -- the audit log -------------------------------------------------------------------------------

async function showAudit(page) {
  document.title = _("Audit log");
  const entries = h("ol", { class: "audit", id: "audit" });
  const more = h("button", { type: "button", class: "button secondary", id: "more", hidden: true }, _("Load more"));
  let cursor = null;
  async function load() {
    const answer = await api(base() + "/admin/audit?limit=30" + (cursor ? "&cursor=" + cursor : ""));
    entries.append(...answer.items.map(auditEntry));
    cursor = answer.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", act(load));
  await load();
  const empty = !entries.children.length && h("p", { class: "hint empty" }, _("Nothing has been changed yet."));
  page.replaceChildren(h("header", { class: "view-head" }, h("h1", {}, _("Audit log"))), empty || entries, more);
}

function auditEntry(e) {
  return h(
    "li",
    { class: "audit-entry", "data-action": e.action },
    h("div", { class: "audit-top" }, h("strong", {}, e.title), h("span", { class: "hint" }, formatDate(e.at, DATE_TIME))),
    h("p", { class: "hint" }, (e.actor || _("the system")) + (e.subject ? " → " + e.subject : "")),
    changes(e).length ? h("ul", { class: "audit-changes" }, changes(e).map((line) => h("li", {}, line))) : null,
  );
}

function keyTitle(key) {
  const titles = {
    name: _("Title"), role: _("Role"), department_id: _("Department"), enabled: _("Switched on"), settings: _("Settings"),
    permissions: _("Who may do what"), timezone: _("Time zone"), holidays: _("Days off"), working_weekends: _("Worked weekends"),
    calendar_days: _("Terms in calendar days"), days: _("The link works for"), code: _("Code"), active: _("Active"),
  };
  return titles[key] || key;
}

/** An entry's before and after as "key: old → new" lines. */
function changes(e) {
  const show = (v) => (v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const before = e.before || {};
  const after = e.after || {};
  const lines = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[key];
    const b = after[key];
    if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a)) {
      for (const sub of new Set([...Object.keys(a), ...Object.keys(b)])) lines.push(`${keyTitle(key)} · ${sub}: ${show(a[sub])} → ${show(b[sub])}`);
    } else if (key in before && key in after) lines.push(`${keyTitle(key)}: ${show(value(key, a))} → ${show(value(key, b))}`);
    else lines.push(`${keyTitle(key)}: ${show(value(key, key in after ? b : a))}`);
  }
  return lines;
}

function value(key, v) {
  return key === "role" && typeof v === "string" ? roleTitle(v) : v;
}

// -- the platform's towns ------------------------------------------------------------------------------

async function showPlatform(page, _params, drops) {
  document.title = _("Towns of the platform");
  const towns = await api("/platform/towns");
  page.replaceChildren(
    h("header", { class: "view-head" }, h("h1", {}, _("Towns of the platform"))),
    list(towns.map((t) => row({
      title: t.name,
      subtitle: t.slug + " · " + t.timezone,
      tags: [t.admins ? format(_("administrators: {n}"), { n: t.admins }) : _("no administrator")],
      attrs: { "data-slug": t.slug },
      onclick: () => actionSheet({
        id: "town-actions", title: t.name,
        actions: [{ key: "invite-admin", icon: "🔗", label: _("A link for a new administrator"), run: act(async () => {
          issuedSheet(await api("/platform/towns/" + t.id + "/invites", { method: "POST" }), () => route());
        }) }, { key: "town-bot", icon: "🤖", label: _("The town's own bot"), run: act(async () => {
          townBotSheet(t, await api("/platform/towns/" + t.id + "/bot"));
        }) }],
      }),
    })), { id: "towns" }),
  );
  viewButton(drops, _("New town"), () => {
    const error = errorLine();
    const name = input({ id: "new-town-name", "data-field": "name", maxlength: 200 });
    let slugTouched = false;
    const slug = input({ id: "new-town-slug", "data-field": "slug", maxlength: 63, oninput: () => (slugTouched = true) });
    name.addEventListener("input", () => {
      if (!slugTouched) slug.value = latin(name.value, "-");
    });
    const zone = input({ id: "new-town-timezone", "data-field": "timezone", value: "Europe/Moscow", list: "new-zones" });
    const opened = sheet({
      id: "town-sheet", title: _("New town"),
      content: [section(null, {},
        field(_("Name of the town"), name),
        field(_("Address in links"), slug, _("Latin letters, digits and hyphens: t.me/<bot>?start=<address>")),
        field(_("Time zone"), zone), h("datalist", { id: "new-zones" }, ZONES.map((z) => h("option", { value: z }))),
        error,
      )],
      main: { text: _("Create"), run: async () => {
        try {
          const created = await api("/platform/towns", { method: "POST", body: { name: name.value, slug: slug.value.trim(), timezone: zone.value.trim() } });
          opened.close();
          issuedSheet(created.invite, () => route());
        } catch (err) {
          showError(error, err, opened.element);
        }
      } },
    });
  }, page);
}

/** A town's own bot: connect one by its @BotFather token (checked by the server with getMe, never
 * shown again), switch it off or on, disconnect it. Without one the platform's bot serves the town. */
function townBotSheet(t, bot) {
  const path = "/platform/towns/" + t.id + "/bot";
  const error = errorLine();
  const token = input({ id: "town-bot-token", "data-field": "token", type: "password", maxlength: 200, placeholder: "123456789:AAE…" });
  const content = [];
  if (bot) {
    const toggle = switchRow(_("Switched on"), bot.enabled, { id: "town-bot-enabled" });
    toggle.box.addEventListener("change", act(async () => {
      try {
        bot = await api(path, { method: "PATCH", body: { enabled: toggle.box.checked } });
        notice(bot.enabled ? _("The town's bot serves the town again.") : _("The platform's bot serves the town for now."));
      } catch (err) {
        toggle.box.checked = !toggle.box.checked;
        showError(error, err, opened.element);
      }
    }));
    content.push(section(null, { id: "town-bot-current" },
      h("p", {}, h("strong", { id: "town-bot-username" }, "@" + bot.username)),
      h("p", { class: "hint", id: "town-bot-hint" }, format(_("Token {hint}, connected {date}."), { hint: bot.token_hint, date: formatDate(bot.connected_at, DATE_TIME) })),
      toggle.element,
      h("button", { type: "button", class: "button secondary small danger", id: "town-bot-disconnect", onclick: act(async () => {
        if (!(await confirmDialog(_("Disconnect the bot? The platform's bot will serve the town.")))) return;
        await api(path, { method: "DELETE" });
        opened.close();
        notice(_("Disconnected: the platform's bot serves the town."));
      }) }, _("Disconnect")),
    ));
  } else {
    content.push(h("p", { class: "hint", id: "town-bot-none" }, _("The platform's bot serves this town. A bot of its own has its own name and its own Telegram limits.")));
  }
  content.push(section(bot ? _("Another bot") : null, {},
    field(_("Bot token"), token, _("Create a bot with @BotFather and paste its token. It is kept encrypted and never shown again.")),
    error,
  ));
  const opened = sheet({
    id: "town-bot-sheet", title: format(_("{town}: own bot"), { town: t.name }), content,
    main: { text: _("Connect"), run: async () => {
      try {
        const connected = await api(path, { method: "PUT", body: { token: token.value.trim() } });
        opened.close();
        notice(format(_("@{username} now serves the town."), { username: connected.username }));
      } catch (err) {
        showError(error, err, opened.element);
      }
    } },
  });
}

main();
