// The small runtime every Glocal miniapp page imports: launch data, Telegram theme and
// controls (with in-page stand-ins outside Telegram), the API client and `_()`.
// Plain ES module, no framework, no build step.
//
// Translatable strings are always one string literal inside `_()`, so Babel's JavaScript extractor
// (locales/babel.cfg) finds them; placeholders go through `format()`, never concatenation.

const API = new URL("../../api/v1", import.meta.url).href; // works behind a path prefix too
const APP = new URL("../", import.meta.url).href;
const LOCALES = ["ru", "en"];
const DEFAULT_LOCALE = "ru";
// The page loads telegram-web-app.js with `async`. A network that drops the request fails at
// once, but one that silently stalls must not keep the person looking at a spinner.
const TELEGRAM_WAIT_MS = 3000;

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

let tg = null; // window.Telegram.WebApp once its script has loaded
let hosted = false; // inside a real Telegram client, where its buttons are drawn

/** True when Telegram's own control of at least `version` can be used. */
function supports(version) {
  return Boolean(tg && hosted && tg.isVersionAtLeast(version));
}

// -- theme -----------------------------------------------------------------------------

const COLOR = /^#[0-9a-f]{3,8}$/i;

/** Telegram theme colours as --tg-theme-* variables (bg_color -> --tg-theme-bg-color). */
function applyTheme(theme) {
  const root = document.documentElement;
  for (const [key, value] of Object.entries(theme || {})) {
    // The hash is just a URL anyone can edit: take only colour values under plain names.
    if (/^[a-z_]+$/.test(key) && COLOR.test(value)) {
      root.style.setProperty("--tg-theme-" + key.replaceAll("_", "-"), value);
    }
  }
  // Native controls (select, scrollbars) follow the theme's lightness.
  if (COLOR.test(theme?.bg_color || "")) root.style.colorScheme = isDark(theme.bg_color) ? "dark" : "light";
}

function isDark(hex) {
  const full = hex.length === 4 ? hex.replace(/([0-9a-f])/gi, "$1$1").slice(1) : hex.slice(1, 7);
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
  return 0.299 * r + 0.587 * g + 0.114 * b < 128;
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

/** Wait for Telegram's script (bounded), then load the catalog; call once per page. */
export async function start() {
  await pageLoaded();
  const webApp = window.Telegram?.WebApp;
  if (webApp) {
    tg = webApp;
    if (tg.initData) launch.initData = tg.initData;
    // The script also loads in a plain browser (a demo link), where its buttons draw
    // nothing; only a Telegram client provides a webview proxy or an iframe parent.
    hosted = Boolean(window.TelegramWebviewProxy) || window.parent !== window;
    applyTheme(tg.themeParams);
    tg.onEvent("themeChanged", () => applyTheme(tg.themeParams));
    // Telegram keeps its buttons across page loads in one webview; each page sets its own.
    if (supports("6.0")) tg.MainButton.hide();
    if (supports("6.1")) tg.BackButton.hide();
    tg.ready();
    tg.expand();
  }
  await useLocale(telegramLocale() || DEFAULT_LOCALE);
}

// -- i18n ------------------------------------------------------------------------------

const catalogs = new Map(); // locale -> {msgid: translation}, fetched once per page
let catalog = {};
let currentLocale = DEFAULT_LOCALE;

/** The locale Telegram reports for the person (ru/en), or null. */
function telegramLocale() {
  const code = String(launchUser(launch.initData).language_code || "").toLowerCase().split(/[-_]/)[0];
  return LOCALES.includes(code) ? code : null;
}

/** Switch the interface language: load its catalog from the API (no auth needed). */
export async function useLocale(code) {
  currentLocale = LOCALES.includes(code) ? code : DEFAULT_LOCALE;
  document.documentElement.lang = currentLocale;
  if (!catalogs.has(currentLocale)) {
    try {
      const response = await fetch(API + "/i18n/" + currentLocale);
      if (response.ok) catalogs.set(currentLocale, await response.json());
    } catch {
      // Offline: the msgids themselves are readable English; a later call tries again.
    }
  }
  catalog = catalogs.get(currentLocale) || {};
}

/** The translation of `msgid`, or `msgid` itself when the catalog lacks it. */
export function _(msgid) {
  return Object.hasOwn(catalog, msgid) ? catalog[msgid] : msgid;
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

// -- API -------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** Call the backend as the launching person; errors carry the server's localized message. */
export async function api(path, { method = "GET", body, raw = false } = {}) {
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
    throw new ApiError(data.message || fallback, response.status);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
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

/** An error box with the server's message; "try again" unless reopening is the only cure. */
export function errorView(error, retry) {
  const canRetry = retry && error.status !== 401;
  return h(
    "div",
    { class: "error", role: "alert" },
    h("p", {}, error.message),
    canRetry && h("button", { type: "button", class: "button secondary", onclick: () => retry() }, _("Try again")),
  );
}

/** One line of feedback at the top of the page (an empty text hides it). */
export function notice(text, kind = "ok") {
  const el = document.getElementById("notice");
  if (!el) return;
  el.className = "notice " + kind;
  el.textContent = text;
  el.hidden = !text;
}

/** An event handler that runs `fn` with its control disabled and reports failures. */
export function act(fn) {
  return async (event) => {
    const control = event?.currentTarget;
    if (control) control.disabled = true;
    notice("");
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

/** The page's main action: Telegram's bottom button in Telegram, else a button appended to
 * `container`. Returns a function that takes it away again. */
export function mainButton(text, onClick, container) {
  if (supports("6.0")) {
    const button = tg.MainButton;
    const handler = async () => {
      button.showProgress();
      try {
        await onClick();
      } finally {
        button.hideProgress();
      }
    };
    button.setText(text);
    button.onClick(handler);
    button.show();
    return () => {
      button.offClick(handler);
      button.hide();
    };
  }
  const button = h("button", { type: "button", class: "button main-button", onclick: onClick }, text);
  container.append(button);
  return () => button.remove();
}

let backWired = false;

/** Back to `href`: Telegram's back button in Telegram (returns null), else a link to place. */
export function backButton(href, label) {
  if (supports("6.1")) {
    if (!backWired) {
      tg.BackButton.onClick(() => location.assign(href));
      backWired = true;
    }
    tg.BackButton.show();
    return null;
  }
  return h("a", { class: "back", href }, h("span", { "aria-hidden": "true" }, "‹ "), label);
}

/** Back by calling `onBack` (for views inside one page): Telegram's back button in Telegram,
 * else an in-page button. Returns {element, drop}: place `element` (null in Telegram) and call
 * `drop()` when the view goes away. */
export function backControl(onBack, label) {
  if (supports("6.1")) {
    tg.BackButton.onClick(onBack);
    tg.BackButton.show();
    return {
      element: null,
      drop() {
        tg.BackButton.offClick(onBack);
        tg.BackButton.hide();
      },
    };
  }
  const element = h("button", { type: "button", class: "back link", onclick: () => onBack() }, h("span", { "aria-hidden": "true" }, "‹ "), label);
  return { element, drop: () => element.remove() };
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
