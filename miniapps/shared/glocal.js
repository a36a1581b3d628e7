// The small runtime every Glocal miniapp page imports: launch data, Telegram theme and
// controls (with in-page stand-ins outside Telegram), the API client, `_()` and the screens
// and sheets the pages share. Plain ES module, no framework, no build step.
//
// Translatable strings are always one string literal inside `_()` or `ngettext()`, so Babel's
// JavaScript extractor (locales/babel.cfg) finds them; placeholders go through `format()`,
// never concatenation. The server sends each page only the strings its code names.

const API = new URL("../../api/v1", import.meta.url).href; // works behind a path prefix too
const APP = new URL("../", import.meta.url).href;
const LOCALES = ["ru", "en"];
const DEFAULT_LOCALE = "ru";
// The page loads telegram-web-app.js with `async`. A network that drops the request fails at
// once, but one that silently stalls must not keep the person looking at a spinner.
const TELEGRAM_WAIT_MS = 3000;
const NOTICE_MS = { ok: 4000, error: 7000 };

// -- launch data -----------------------------------------------------------------------

function readHash() {
  // Every Telegram client puts the launch parameters in the hash; values are URL-encoded.
  const params = new URLSearchParams(location.hash.slice(1));
  return {
    initData: params.get("tgWebAppData") || "",
    theme: parseJson(params.get("tgWebAppThemeParams")) || {},
    version: params.get("tgWebAppVersion") || "",
    platform: params.get("tgWebAppPlatform") || "unknown",
  };
}

function parseJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function launchUser(initData) {
  return parseJson(new URLSearchParams(initData).get("user")) || {};
}

export const launch = readHash();

/** This page's miniapp: the folder under /app/ (hub, profile, appeals). */
const MINIAPP = new URL(location.pathname, location.href).href.slice(APP.length).split("/")[0] || "hub";

let tg = null; // window.Telegram.WebApp once its script has loaded
let hosted = false; // inside a real Telegram client, where its buttons are drawn

/** True when Telegram's own control of at least `version` can be used. */
function supports(version) {
  return Boolean(tg && hosted && tg.isVersionAtLeast(version));
}

/** True inside a Telegram client (its buttons, dialogs and Close exist). */
export function inTelegram() {
  return Boolean(tg && hosted);
}

// -- theme -----------------------------------------------------------------------------
// Telegram's own screens put sections (section_bg_color) on a page of secondary_bg_color.
// Clients before Bot API 7.0 send neither: the page is then a shade of bg_color, so cards
// never look like holes punched into a darker page.

const COLOR = /^#[0-9a-f]{3,8}$/i;
let pageColor = null;

/** Telegram theme colours as --tg-theme-* variables, plus the page and section colours. */
function applyTheme(theme) {
  const root = document.documentElement;
  const colors = {};
  for (const [key, value] of Object.entries(theme || {})) {
    // The hash is just a URL anyone can edit: take only colour values under plain names.
    if (/^[a-z_]+$/.test(key) && COLOR.test(value)) {
      colors[key] = value;
      root.style.setProperty("--tg-theme-" + key.replaceAll("_", "-"), value);
    }
  }
  const base = colors.bg_color;
  const section = colors.section_bg_color || base;
  let page = colors.secondary_bg_color || (base && shade(base, isDark(base) ? -0.45 : -0.06));
  if (page && section && page.toLowerCase() === section.toLowerCase()) page = shade(section, isDark(section) ? -0.45 : -0.06);
  if (section) root.style.setProperty("--section-bg", section);
  if (page) root.style.setProperty("--page-bg", page);
  pageColor = page || null;
  // Native controls (select, scrollbars) follow the theme's lightness.
  if (page || base) root.style.colorScheme = isDark(page || base) ? "dark" : "light";
  paintTelegram();
}

function rgb(hex) {
  const full = hex.length === 4 ? hex.replace(/([0-9a-f])/gi, "$1$1").slice(1) : hex.slice(1, 7);
  return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
}

function isDark(hex) {
  const [r, g, b] = rgb(hex);
  return 0.299 * r + 0.587 * g + 0.114 * b < 128;
}

/** `hex` moved towards black by `amount` (negative) or white (positive), 0..1. */
function shade(hex, amount) {
  const target = amount < 0 ? 0 : 255;
  const k = Math.abs(amount);
  return "#" + rgb(hex).map((c) => Math.round(c + (target - c) * k).toString(16).padStart(2, "0")).join("");
}

/** Telegram's header, background and bottom bar in the page's colour, so they join up. */
function paintTelegram() {
  if (!pageColor || !inTelegram()) return;
  if (supports("6.9") && typeof tg.setHeaderColor === "function") tg.setHeaderColor(pageColor);
  if (supports("6.1") && typeof tg.setBackgroundColor === "function") tg.setBackgroundColor(pageColor);
  if (supports("7.10") && typeof tg.setBottomBarColor === "function") tg.setBottomBarColor(pageColor);
}

// Before anything waits on the network, so a dark theme does not flash white.
applyTheme(launch.theme);

function pageLoaded() {
  // The window's load event waits for the async telegram-web-app.js to run or to fail, so
  // after it `window.Telegram` is settled either way.
  if (document.readyState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    window.addEventListener("load", resolve, { once: true });
    setTimeout(resolve, TELEGRAM_WAIT_MS);
  });
}

const telegramSettled = pageLoaded().then(() => {
  const webApp = window.Telegram?.WebApp;
  if (!webApp) return;
  tg = webApp;
  if (tg.initData) launch.initData = tg.initData;
  // The script also loads in a plain browser (a demo link), where its buttons draw
  // nothing; only a Telegram client provides a webview proxy or an iframe parent.
  hosted = Boolean(window.TelegramWebviewProxy) || window.parent !== window;
  applyTheme(tg.themeParams);
  tg.onEvent("themeChanged", () => applyTheme(tg.themeParams));
  // One handler each for Telegram's buttons; the stacks below say what they do now.
  if (supports("6.0")) {
    tg.MainButton.hide();
    tg.MainButton.onClick(() => runTop(mainStack, tg.MainButton));
  }
  if (supports("7.10") && tg.SecondaryButton) {
    tg.SecondaryButton.hide();
    tg.SecondaryButton.onClick(() => runTop(secondaryStack, tg.SecondaryButton));
  }
  if (supports("6.1")) {
    tg.BackButton.hide();
    tg.BackButton.onClick(() => backStack.at(-1)?.());
  }
  tg.ready();
  tg.expand();
});

/**
 * Wait for Telegram's script (bounded) and the interface strings; call once per page.
 * Start the page's first API request before awaiting this: both then travel together.
 * Returns false when this launch already erased the person (the page must stop).
 */
export async function start() {
  await telegramSettled;
  await useLocale(firstLocale());
  if (erasedHere()) {
    endScreen({ title: _("Your data has been deleted"), text: _("Your personal data has been deleted. Send /start if you want to come back.") });
    return false;
  }
  return true;
}

// -- i18n ------------------------------------------------------------------------------

const catalogs = new Map(); // locale -> Promise of {msgid: translation | [plural forms]}
let catalog = {};
let currentLocale = DEFAULT_LOCALE;
const CATALOG_VERSION = document.querySelector('meta[name="glocal-i18n"]')?.content || "";

/** The locale Telegram reports for the person (ru/en), or null. */
function telegramLocale() {
  const code = String(launchUser(launch.initData).language_code || "").toLowerCase().split(/[-_]/)[0];
  return LOCALES.includes(code) ? code : null;
}

/** Before the profile is known: Telegram's language, else the browser's (as the server does). */
function firstLocale() {
  const browser = String(navigator.language || "").toLowerCase().split(/[-_]/)[0];
  return telegramLocale() || (LOCALES.includes(browser) ? browser : DEFAULT_LOCALE);
}

function fetchCatalog(locale) {
  if (!catalogs.has(locale)) {
    // Only this miniapp's strings; the page's version makes the answer cacheable for good.
    const params = new URLSearchParams({ app: MINIAPP });
    if (CATALOG_VERSION) params.set("v", CATALOG_VERSION);
    const request = fetch(API + "/i18n/" + locale + "?" + params)
      .then((response) => (response.ok ? response.json() : null))
      .catch(() => null); // offline: the msgids themselves are readable English
    catalogs.set(locale, request);
    request.then((data) => data || catalogs.delete(locale)); // a later call tries again
  }
  return catalogs.get(locale);
}

// Asked for at once, while the page's scripts and first API call are still on their way.
fetchCatalog(firstLocale());

/** Switch the interface language: load its catalog from the API (no auth needed). */
export async function useLocale(code) {
  const locale = LOCALES.includes(code) ? code : DEFAULT_LOCALE;
  const data = await fetchCatalog(locale);
  currentLocale = locale;
  document.documentElement.lang = locale;
  catalog = data || {};
}

/** The translation of `msgid`, or `msgid` itself when the catalog lacks it. */
export function _(msgid) {
  if (!Object.hasOwn(catalog, msgid)) return msgid;
  const value = catalog[msgid];
  return Array.isArray(value) ? value[0] : value;
}

/** The plural form for `n`: `format(ngettext("{n} day", "{n} days", n), {n})`. */
export function ngettext(singular, plural, n) {
  const forms = catalog[singular];
  if (!Array.isArray(forms)) return n === 1 ? singular : plural;
  // gettext's order of forms is CLDR's order of categories for both our languages.
  const order = currentLocale === "ru" ? ["one", "few", "many"] : ["one", "other"];
  const index = order.indexOf(new Intl.PluralRules(currentLocale).select(n));
  return forms[index >= 0 ? index : forms.length - 1];
}

/** `format(_("Hello, {name}!"), {name})`, like Python's str.format with names. */
export function format(template, params) {
  return template.replace(/\{(\w+)\}/g, (match, key) => (Object.hasOwn(params, key) ? String(params[key]) : match));
}

// Deadlines end with the town's day, so dates are shown in the town's zone, not the device's.
let currentTimeZone;

/** Show dates in this IANA time zone (the town's); undefined: the device's. */
export function useTimeZone(timeZone) {
  currentTimeZone = timeZone || undefined;
}

/** A date in the interface language; `options` as for Intl.DateTimeFormat (default: long date). */
export function formatDate(iso, options = { dateStyle: "long" }) {
  return new Intl.DateTimeFormat(currentLocale, { timeZone: currentTimeZone, ...options }).format(new Date(iso));
}

/** Whole days from today to the day of `iso`, both in the town's zone (negative: past). */
export function daysUntil(iso, now = new Date()) {
  const day = (date) => {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: currentTimeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
    const [y, m, d] = parts.split("-").map(Number);
    return Date.UTC(y, m - 1, d) / 86400000;
  };
  return day(new Date(iso)) - day(now);
}

// -- API -------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(message, status, code, fields) {
    super(message);
    this.status = status;
    this.code = code; // the server's error code; absent when no route answered
    this.fields = fields || []; // with 422: the fields at fault (e.g. "settings.answer_days")
  }
}

/** Call the backend as the launching person; errors carry the server's localized message. */
export async function api(path, { method = "GET", body, raw = false } = {}) {
  // Launch data normally comes in the hash; only without it wait for Telegram's script.
  if (!launch.initData) await telegramSettled;
  // After erasure any call would sign the person up afresh: none leaves this launch.
  if (erasedHere()) throw new ApiError(_("Your personal data has been deleted. Send /start if you want to come back."), 410, "erased");
  const headers = { Accept: "application/json" };
  // Without launch data, send nothing: the server then explains how to open the app.
  if (launch.initData) headers.Authorization = "tma " + launch.initData;
  // Lets the server answer a person without a saved language in Telegram's one, as the bot does.
  const tgLocale = telegramLocale();
  if (tgLocale) headers["Accept-Language"] = tgLocale;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(_("No connection to the server. Check the internet and try again."), 0);
  }
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    const fallback = _("Sorry, something went wrong on our side. We have logged it; please try again a bit later.");
    throw new ApiError(data.message || fallback, response.status, data.error, Array.isArray(data.fields) ? data.fields : []);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

/** `api(path)` started now and awaited later: a failure is reported where it is awaited. */
export function prefetch(path) {
  const request = api(path);
  request.catch(() => {}); // not "unhandled" while the page is still getting ready
  return request;
}

/** True when the server answered that no such route exists (an API this build lacks). */
export function missingRoute(error) {
  return error instanceof ApiError && ((error.status === 404 && (!error.code || error.code === "no_route")) || error.status === 405);
}

// -- downloads -------------------------------------------------------------------------
// Telegram's mobile webviews often ignore a blob link. From Bot API 8.0 Telegram downloads a
// file itself (WebApp.downloadFile), but it needs a URL that works without our Authorization
// header: the server signs a short-lived one at POST <path>/download-link.

let downloadLinks = true; // false once the server said it has no such route

function linkPath(path) {
  const [route, query] = path.split("?");
  return route + "/download-link" + (query ? "?" + query : "");
}

/** A signed URL for the API file at `path` ({url, filename}), or null where unsupported. */
async function downloadLink(path) {
  if (!downloadLinks) return null;
  try {
    return await api(linkPath(path), { method: "POST" });
  } catch (error) {
    if (!missingRoute(error)) throw error;
    downloadLinks = false;
    return null;
  }
}

/** Download the API file at `path`: Telegram's download in Telegram, a saved blob elsewhere. */
export async function download(path, fallbackName) {
  if (inTelegram() && (supports("8.0") ? typeof tg.downloadFile === "function" : supports("6.1"))) {
    const link = await downloadLink(path);
    if (link?.url) {
      if (supports("8.0") && typeof tg.downloadFile === "function") {
        const accepted = await new Promise((resolve) => tg.downloadFile({ url: link.url, file_name: link.filename || fallbackName }, resolve));
        if (accepted) haptic("success");
      } else {
        tg.openLink(link.url); // older clients: the system browser downloads it
      }
      return;
    }
  }
  await saveResponse(await api(path, { raw: true }), fallbackName);
}

/** Save a fetched response as a file, named as its Content-Disposition says. A plain link
 * cannot carry the Authorization header, so API downloads are fetched first, then saved. */
export async function saveResponse(response, fallbackName) {
  const url = URL.createObjectURL(await response.blob());
  h("a", { href: url, download: dispositionName(response) || fallbackName }).click();
  // The browser reads the blob after click() returns; free it a while later.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function dispositionName(response) {
  const header = response.headers.get("Content-Disposition") || "";
  const encoded = header.match(/filename\*=UTF-8''([^;]+)/i)?.[1];
  if (encoded) {
    try {
      return decodeURIComponent(encoded);
    } catch {
      // A malformed name: fall through to the plain one.
    }
  }
  return header.match(/filename="([^"]+)"/)?.[1] || null;
}

/** An absolute URL of another miniapp page; our own pages get the launch hash. */
export function appUrl(path) {
  const url = new URL(path, APP);
  // The hash carries the signed launch data: it goes to our own origin only.
  if (url.origin === location.origin) url.hash = location.hash;
  return url.href;
}

// -- DOM -------------------------------------------------------------------------------

/** h("a", {href, onclick}, "text", child): an element; strings become text nodes (no HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return el;
}

export function spinner() {
  return h("div", { class: "spinner", role: "status", "aria-label": _("Loading…") });
}

/** A section of a page: an optional header above a rounded block in the section colour. */
/** A labelled form control, with an optional hint under it (the admin, atlas and broadcasts forms). */
export function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", { class: "hint" }, label), control, hint && h("span", { class: "hint field-hint" }, hint));
}

export function input(attrs) {
  return h("input", { class: "input", autocomplete: "off", ...attrs });
}

/** A <select> of [value, text] pairs with `value` chosen. */
export function select(attrs, options, value) {
  return h("select", attrs, options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, text)));
}

export function section(title, attrs, ...children) {
  return h("section", { class: "block", ...attrs }, title && h("h2", {}, title), h("div", { class: "section" }, ...children));
}

function errorTitle(error) {
  if (error.status === 401) return _("Open the app again");
  if (error.status === 0) return _("No connection");
  if (error.status === 403) return _("Not available to you");
  if (error.status === 404) return _("Not found");
  return _("Something went wrong");
}

/** An inline error (a list that failed to load) with "try again" unless reopening is the cure. */
export function errorView(error, retry) {
  const canRetry = retry && error.status !== 401;
  return h(
    "div",
    { class: "error", role: "alert" },
    h("p", {}, error.message),
    canRetry && h("button", { type: "button", class: "button secondary", onclick: () => retry() }, _("Try again")),
  );
}

/** A whole-page error: a title, the server's message, "try again" where it can help and, in
 * Telegram, Close. */
export function errorScreen(error, retry) {
  const canRetry = retry && error.status !== 401;
  return h(
    "section",
    { class: "screen error-screen", role: "alert" },
    h("div", { class: "screen-icon", "aria-hidden": "true" }, error.status === 0 ? "📡" : "⚠️"),
    h("h1", {}, errorTitle(error)),
    h("p", { class: "screen-text" }, error.message),
    h(
      "div",
      { class: "screen-actions" },
      canRetry && h("button", { type: "button", class: "button", onclick: () => retry() }, _("Try again")),
      closeButton(canRetry ? "secondary" : ""),
    ),
  );
}

function closeButton(kind) {
  if (!inTelegram()) return null; // a browser tab cannot be closed by its page
  return h("button", { type: "button", class: "button " + kind, id: "close-app", onclick: () => tg.close() }, _("Close"));
}

/** The last screen of a page: no way back into the app, only Close (in Telegram). */
export function endScreen({ title, text }) {
  mainStack.length = 0;
  secondaryStack.length = 0;
  backStack.length = 0;
  sheetStack.splice(0).forEach((overlay) => overlay.remove());
  document.body.classList.remove("sheet-open");
  syncButtons();
  notice("");
  if (inTelegram() && supports("6.2")) tg.disableClosingConfirmation();
  const root = document.getElementById("app");
  root.replaceChildren(
    h(
      "section",
      { class: "screen end-screen", id: "end" },
      h("div", { class: "screen-icon", "aria-hidden": "true" }, "✅"),
      h("h1", {}, title),
      h("p", { class: "screen-text" }, text),
      h("div", { class: "screen-actions" }, closeButton("") || h("p", { class: "hint" }, _("You can close this page now."))),
    ),
  );
}

// Erasure ends this launch in every page of the app: going back to the hub would call /me,
// which signs the person up afresh. The mark lives as long as the tab and names this launch.
const ERASED_KEY = "glocal:erased";

function launchKey() {
  return new URLSearchParams(launch.initData).get("hash") || launch.initData;
}

/** Remember that this launch erased the person's data. */
export function markErased() {
  try {
    sessionStorage.setItem(ERASED_KEY, launchKey());
  } catch {
    // Storage disabled: the end screen still shows on this page.
  }
}

function erasedHere() {
  try {
    return Boolean(launch.initData) && sessionStorage.getItem(ERASED_KEY) === launchKey();
  } catch {
    return false;
  }
}

// A page restored from the back-forward cache runs no script: check the mark again.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && erasedHere()) {
    endScreen({ title: _("Your data has been deleted"), text: _("Your personal data has been deleted. Send /start if you want to come back.") });
  }
});

let noticeTimer = null;

/** Brief feedback that goes away by itself (tap to dismiss); an empty text hides it now. */
export function notice(text, kind = "ok") {
  const el = document.getElementById("notice");
  if (!el) return;
  clearTimeout(noticeTimer);
  el.className = "notice " + kind;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.textContent = text;
  el.hidden = !text;
  el.onclick = () => notice("");
  if (text) noticeTimer = setTimeout(() => notice(""), NOTICE_MS[kind] || NOTICE_MS.ok);
}

/** An event handler that runs `fn` with its control disabled and reports failures. */
export function act(fn) {
  return async (event) => {
    const control = event?.currentTarget;
    if (control) control.disabled = true;
    try {
      await fn(event);
    } catch (error) {
      notice(error.message, "error");
      haptic("error");
    } finally {
      if (control) control.disabled = false;
    }
  };
}

// -- Telegram controls, with in-page stand-ins ---------------------------------------
// Telegram has one main, one secondary and one back button per webview. Views that open over
// others (a sheet over a card) push what the button should do now and pop it on closing, so
// the card's button comes back by itself.

const mainStack = []; // {text, run, element}
const secondaryStack = [];
const backStack = []; // functions

async function runTop(stack, button) {
  const top = stack.at(-1);
  if (!top) return;
  button.showProgress?.();
  try {
    await top.run();
  } finally {
    button.hideProgress?.();
  }
}

function syncButtons() {
  if (supports("6.0")) {
    const top = mainStack.at(-1);
    if (top) {
      tg.MainButton.setText(top.text);
      tg.MainButton.show();
    } else tg.MainButton.hide();
  }
  if (supports("7.10") && tg.SecondaryButton) {
    const top = secondaryStack.at(-1);
    if (top) {
      tg.SecondaryButton.setText(top.text);
      tg.SecondaryButton.show();
    } else tg.SecondaryButton.hide();
  }
  if (supports("6.1")) {
    if (backStack.length) tg.BackButton.show();
    else tg.BackButton.hide();
  }
}

function pushButton(stack, entry, native, container, kind) {
  if (!native) {
    entry.element = h("button", { type: "button", class: "button " + kind, onclick: (event) => entry.run(event) }, entry.text);
    container.append(entry.element);
  }
  stack.push(entry);
  syncButtons();
  return () => {
    const index = stack.indexOf(entry);
    if (index >= 0) stack.splice(index, 1);
    entry.element?.remove();
    syncButtons();
  };
}

/** The view's main action: Telegram's bottom button in Telegram, else a button appended to
 * `container`. Returns a function that takes it away again. */
export function mainButton(text, onClick, container) {
  return pushButton(mainStack, { text, run: onClick }, supports("6.0"), container, "main-button");
}

/** A second action beside the main one: Bot API 7.10's SecondaryButton, else a button in
 * `container`, or nothing without one (the page offers the action elsewhere). */
export function secondaryButton(text, onClick, container) {
  const native = supports("7.10") && Boolean(tg.SecondaryButton);
  if (!native && !container) return () => {};
  return pushButton(secondaryStack, { text, run: onClick }, native, container, "secondary second-button");
}

function pushBack(onBack) {
  backStack.push(onBack);
  syncButtons();
  return () => {
    const index = backStack.lastIndexOf(onBack);
    if (index >= 0) backStack.splice(index, 1);
    syncButtons();
  };
}

/** Back to `href`: Telegram's back button in Telegram (returns null), else a link to place. */
export function backButton(href, label) {
  if (supports("6.1")) {
    pushBack(() => location.assign(href));
    return null;
  }
  return h("a", { class: "back", href }, h("span", { "aria-hidden": "true" }, "‹ "), label);
}

/** Back by calling `onBack` (for views inside one page): Telegram's back button in Telegram,
 * else an in-page button. Returns {element, drop}: place `element` (null in Telegram) and call
 * `drop()` when the view goes away. */
export function backControl(onBack, label) {
  if (supports("6.1")) {
    return { element: null, drop: pushBack(onBack) };
  }
  const element = h("button", { type: "button", class: "back link", onclick: () => onBack() }, h("span", { "aria-hidden": "true" }, "‹ "), label);
  return { element, drop: () => element.remove() };
}

// -- sheets ----------------------------------------------------------------------------

const sheetStack = [];

/**
 * A bottom sheet over the page (filters, a list of actions, one action's form). Telegram's
 * back button, Escape, the backdrop and the ✕ close it. `main` gives its primary action
 * ({text, run}), drawn as Telegram's main button in Telegram. Returns {body, close}.
 */
export function sheet({ id, title, content = [], main, onClose }) {
  const body = h("div", { class: "sheet-body" }, content);
  const footer = h("div", { class: "sheet-footer" });
  const panel = h(
    "div",
    { class: "sheet", role: "dialog", "aria-modal": "true", "aria-label": title, id },
    h("div", { class: "sheet-head" }, h("h2", {}, title), h("button", { type: "button", class: "sheet-close", "aria-label": _("Close"), onclick: () => close() }, "✕")),
    body,
    footer,
  );
  const overlay = h("div", { class: "sheet-overlay", onclick: (event) => event.target === overlay && close() }, panel);
  const onKey = (event) => event.key === "Escape" && sheetStack.at(-1) === overlay && close();
  const dropBack = pushBack(() => close());
  const dropMain = main ? mainButton(main.text, main.run, footer) : null;
  let open = true;
  function close() {
    if (!open) return;
    open = false;
    dropMain?.();
    dropBack();
    document.removeEventListener("keydown", onKey);
    sheetStack.splice(sheetStack.indexOf(overlay), 1);
    overlay.remove();
    document.body.classList.toggle("sheet-open", sheetStack.length > 0);
    onClose?.();
  }
  document.addEventListener("keydown", onKey);
  overlay.close = close;
  sheetStack.push(overlay);
  document.body.append(overlay);
  document.body.classList.add("sheet-open");
  return { body, footer, close, element: panel };
}

/** Close every open sheet (the view under them is going away). */
export function closeSheets() {
  for (const overlay of [...sheetStack].reverse()) overlay.close();
}

/** A sheet of actions, one button each, like Telegram's own menus; `danger` ones in red. */
export function actionSheet({ id, title, actions }) {
  const list = h("div", { class: "action-list section" });
  const opened = sheet({ id, title, content: [list] });
  for (const action of actions) {
    list.append(
      h(
        "button",
        {
          type: "button", class: "action-row" + (action.danger ? " danger" : ""), "data-action": action.key,
          onclick: () => {
            opened.close();
            action.run();
          },
        },
        h("span", { class: "action-icon", "aria-hidden": "true" }, action.icon || ""),
        h("span", { class: "action-label" }, action.label),
      ),
    );
  }
  return opened;
}

/** A link that leaves the app: Telegram opens it in its browser, elsewhere a new tab does. */
export function externalLink(href, attrs, ...children) {
  const open = (event) => {
    if (!supports("6.1")) return; // the browser follows target=_blank itself
    event.preventDefault();
    tg.openLink(href);
  };
  return h("a", { ...attrs, href, target: "_blank", rel: "noopener", onclick: open }, ...children);
}

/** A t.me link (a chat, a share dialog): Telegram opens it itself, elsewhere a new tab does. */
export function openTelegramLink(href) {
  if (supports("6.1") && typeof tg.openTelegramLink === "function") tg.openTelegramLink(href);
  else window.open(href, "_blank", "noopener");
}

/** A light vibration in Telegram; nothing elsewhere (a web page buzzing would surprise). */
export function haptic(kind) {
  if (!supports("6.1")) return;
  if (kind === "light") tg.HapticFeedback.impactOccurred("light");
  else tg.HapticFeedback.notificationOccurred(kind); // "success" | "warning" | "error"
}

/** Ask yes/no: Telegram's dialog in Telegram, the browser's elsewhere. */
export function confirmDialog(message) {
  if (supports("6.2")) return new Promise((resolve) => tg.showConfirm(message, (ok) => resolve(Boolean(ok))));
  return Promise.resolve(window.confirm(message));
}

// -- storage that outlives a launch ------------------------------------------------------
// A launch expires (AUTH_MAX_AGE) while a clerk is still typing. What they typed stays on the
// device (localStorage) and, in Telegram from Bot API 6.9, in the person's CloudStorage, so a
// new launch (on any of their devices) finds it. CloudStorage keeps 4096 characters per key:
// longer texts are split over numbered keys.

const CLOUD_CHUNK = 4000;
const CLOUD_PARTS = 6;

function cloud() {
  return supports("6.9") && tg.CloudStorage ? tg.CloudStorage : null;
}

function cloudCall(method, ...args) {
  return new Promise((resolve) => {
    try {
      cloud()[method](...args, (error, value) => resolve(error ? null : value));
    } catch {
      resolve(null);
    }
  });
}

/** Keep `value` (a string, with the time it was saved) under `key`; an empty value forgets it. */
export async function keep(key, value) {
  const record = value ? JSON.stringify({ value, at: Date.now() }) : "";
  try {
    if (record) localStorage.setItem("glocal:" + key, record);
    else localStorage.removeItem("glocal:" + key);
  } catch {
    // Private mode or full: CloudStorage below may still hold it.
  }
  if (!cloud()) return;
  const parts = [];
  for (let i = 0; i < CLOUD_PARTS; i++) parts.push(record.slice(i * CLOUD_CHUNK, (i + 1) * CLOUD_CHUNK));
  if (record.length > CLOUD_CHUNK * CLOUD_PARTS) return; // too long for the cloud: the device keeps it
  await Promise.all(parts.map((part, i) => (part ? cloudCall("setItem", key + "_" + i, part) : cloudCall("removeItem", key + "_" + i))));
}

/** What `keep(key, ...)` saved, the newest of the device's and the cloud's copy: {value, at}. */
export async function kept(key) {
  let local = null;
  try {
    local = parseJson(localStorage.getItem("glocal:" + key));
  } catch {
    local = null;
  }
  let remote = null;
  if (cloud()) {
    const keys = Array.from({ length: CLOUD_PARTS }, (_unused, i) => key + "_" + i);
    const values = await cloudCall("getItems", keys);
    remote = values ? parseJson(keys.map((k) => values[k] || "").join("")) : null;
  }
  const newest = [local, remote].filter((r) => r && typeof r.value === "string").sort((a, b) => b.at - a.at)[0];
  return newest || null;
}
