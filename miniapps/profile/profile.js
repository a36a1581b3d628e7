// The profile: language, current town, personal-data consent, export and erasure.
import {
  _, act, api, appUrl, backButton, confirmDialog, download, endScreen, errorScreen, format, formatDate, h, haptic, mainButton, markErased,
  notice, prefetch, section, spinner, start, useLocale,
} from "../shared/glocal.js";

// Each language is named in itself, so these are never translated.
const LANGUAGES = [
  ["ru", "Русский"],
  ["en", "English"],
];

const root = document.getElementById("app");
let me = null;
let policy = null;
let towns = [];
let dropMainButton = null;

let back = null; // the in-page link to the hub outside Telegram (Telegram's button inside)

async function main() {
  // The person travels beside Telegram's script and the strings, not after them.
  const meRequest = prefetch("/me");
  if (!(await start())) return;
  back = backButton(appUrl("hub/"), _("Services"));
  await load(meRequest);
}

async function load(meRequest) {
  root.replaceChildren(spinner());
  try {
    await refresh(meRequest);
  } catch (error) {
    root.replaceChildren(errorScreen(error, () => load()));
  }
}

/** Fetch everything the page shows, in the person's language, and draw it. */
async function refresh(meRequest = api("/me")) {
  // The person first (the first call may sign them up), then the rest together.
  me = await meRequest;
  [, policy, towns] = await Promise.all([useLocale(me.locale), api("/privacy"), api("/municipalities")]);
  render();
}

function render() {
  dropMainButton?.();
  dropMainButton = null;
  document.title = _("Profile");
  if (back) back.lastChild.textContent = _("Services"); // the language may have changed
  root.replaceChildren(
    ...[back, h("h1", {}, _("Profile"))].filter(Boolean),
    languageBlock(),
    townBlock(),
    consentBlock(),
    dataBlock(),
  );
}

function languageBlock() {
  const buttons = LANGUAGES.map(([code, name]) =>
    h("button", { type: "button", lang: code, "aria-pressed": String(code === me.locale), onclick: act(() => setLanguage(code)) }, name),
  );
  return h("section", { class: "block", id: "language" }, h("h2", {}, _("Interface language")), h("div", { class: "segmented", role: "group" }, buttons));
}

async function setLanguage(code) {
  if (code === me.locale) return;
  await api("/me", { method: "PATCH", body: { locale: code } });
  haptic("success");
  await refresh(); // the policy text and every label change language
}

function townBlock() {
  const current = me.current_municipality;
  const options = towns.map((town) => h("option", { value: town.id, selected: town.id === current?.id }, town.name));
  if (!current) options.unshift(h("option", { value: "", selected: true, disabled: true }, _("Choose your town:")));
  const select = h("select", { id: "town", "aria-label": _("Town"), onchange: act((event) => setTown(event.currentTarget.value)) }, options);
  return h("section", { class: "block" }, h("h2", {}, _("Town")), select);
}

async function setTown(id) {
  me = await api("/me", { method: "PATCH", body: { municipality_id: Number(id) } });
  haptic("success");
  render();
  notice(format(_("Your town: {town}"), { town: me.current_municipality.name }));
}

function consentBlock() {
  const accepted = policy.accepted;
  const text = h("div", { class: "policy", tabindex: "0" }, policy.text);
  const actions = h("div", { class: "actions" });
  const block = section(
    _("Personal data consent"),
    { id: "consent", "data-accepted": String(accepted) },
    h("p", { class: "status" }, accepted ? _("You have given consent.") : _("You have not given consent yet.")),
    accepted &&
      h("p", { class: "hint" }, format(_("Accepted on {date}, policy version {version}."), { date: formatDate(policy.given_at), version: policy.accepted_version })),
    // Once accepted, the text folds away but stays one tap from view.
    accepted ? h("details", {}, h("summary", {}, _("Read the policy")), text) : text,
    actions,
  );
  if (accepted) actions.append(h("button", { type: "button", class: "button secondary", onclick: act(withdraw) }, _("Withdraw consent")));
  else dropMainButton = mainButton(_("✅ I agree"), act(accept), actions);
  return block;
}

async function accept() {
  policy = await api("/privacy/consent", { method: "POST" });
  haptic("success");
  render();
  notice(_("Thank you, consent recorded."));
}

async function withdraw() {
  policy = await api("/privacy/consent", { method: "DELETE" });
  haptic("warning");
  render();
  notice(_("Consent withdrawn."));
}

function dataBlock() {
  return section(
    _("Your data"),
    { id: "data" },
    h("p", { class: "hint" }, _("Everything we store about you.")),
    h("button", { type: "button", class: "button secondary", onclick: act(() => download("/me/export", "glocal-my-data.json")) }, _("Download my data")),
    h("button", { type: "button", class: "button secondary danger-text", onclick: act(forget) }, _("Delete my personal data")),
  );
}

async function forget() {
  const sure = await confirmDialog(_("Delete your personal data? Appeals and documents the law requires us to keep will stay, without your name."));
  if (!sure) {
    notice(_("Nothing was deleted."));
    return;
  }
  await api("/me", { method: "DELETE" });
  haptic("success");
  // Any further API call would sign the person up afresh (the hub's /me would), so this launch
  // ends here: no back button, no main button, only Close.
  markErased();
  endScreen({ title: _("Your data has been deleted"), text: _("Your personal data has been deleted. Send /start if you want to come back.") });
}

main();
