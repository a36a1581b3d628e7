// The profile: language, current town, personal-data consent, export and erasure.
import {
  _, act, api, appUrl, backButton, confirmDialog, errorView, format, formatDate, h, haptic, mainButton, notice, spinner, start, useLocale,
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

async function main() {
  await start();
  await load();
}

async function load() {
  root.replaceChildren(spinner());
  try {
    await refresh();
  } catch (error) {
    root.replaceChildren(errorView(error, load));
  }
}

/** Fetch everything the page shows, in the person's language, and draw it. */
async function refresh() {
  me = await api("/me");
  await useLocale(me.locale);
  [policy, towns] = await Promise.all([api("/privacy"), api("/municipalities")]);
  render();
}

function render() {
  dropMainButton?.();
  dropMainButton = null;
  document.title = _("Profile");
  root.replaceChildren(
    ...[backButton(appUrl("hub/"), _("Services")), h("h1", {}, _("Profile"))].filter(Boolean),
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
  const block = h(
    "section",
    { class: "block", id: "consent", "data-accepted": String(accepted) },
    h("h2", {}, _("Personal data consent")),
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
  return h(
    "section",
    { class: "block", id: "data" },
    h("h2", {}, _("Your data")),
    h("p", { class: "hint" }, _("Everything we store about you.")),
    h("button", { type: "button", class: "button secondary", onclick: act(download) }, _("Download my data")),
    h("button", { type: "button", class: "button danger", onclick: act(forget) }, _("Delete my personal data")),
  );
}

async function download() {
  // A plain link cannot carry the Authorization header: fetch, then save the blob.
  const response = await api("/me/export", { raw: true });
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = disposition.match(/filename="([^"]+)"/)?.[1] || "glocal-my-data.json";
  const url = URL.createObjectURL(await response.blob());
  h("a", { href: url, download: name }).click();
  // The browser reads the blob after click() returns; free it a while later.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

async function forget() {
  const sure = await confirmDialog(_("Delete your personal data? Appeals and documents the law requires us to keep will stay, without your name."));
  if (!sure) {
    notice(_("Nothing was deleted."));
    return;
  }
  await api("/me", { method: "DELETE" });
  haptic("success");
  dropMainButton?.();
  dropMainButton = null;
  // Any further API call would sign the person up afresh, so the page stops here.
  root.replaceChildren(h("h1", {}, _("Profile")), h("p", { class: "status", id: "forgotten" }, _("Your personal data has been deleted. Send /start if you want to come back.")));
}

main();
