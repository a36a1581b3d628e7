// The hub: a greeting, the current town (with a switcher) and the town's services.
import { _, act, api, appUrl, errorScreen, errorView, format, h, haptic, prefetch, spinner, start, useLocale } from "../shared/glocal.js";

const root = document.getElementById("app");
let me = null;
let choosing = false; // the town list is open instead of the services

async function main() {
  // The person travels beside Telegram's script and the strings, not after them.
  const meRequest = prefetch("/me");
  if (!(await start())) return;
  await load(meRequest);
}

async function load(meRequest = api("/me")) {
  root.replaceChildren(spinner());
  try {
    me = await meRequest;
    const town = me.current_municipality;
    // The services (or towns) and the person's own language are fetched together.
    const listRequest = town && !choosing ? prefetch("/municipalities/" + town.id + "/services") : prefetch("/municipalities");
    await useLocale(me.locale);
    await render(listRequest);
  } catch (error) {
    root.replaceChildren(errorScreen(error, () => load()));
  }
}

async function render(listRequest = null) {
  document.title = _("Services");
  const town = me.current_municipality;
  const content = h("section", { id: "content", "aria-busy": "true" }, spinner());
  root.replaceChildren(greeting(town), content);
  try {
    // Without a town there are no services yet: the person picks one first.
    content.replaceChildren(...(town && !choosing ? await services(town, listRequest) : await towns(town, listRequest)));
  } catch (error) {
    content.replaceChildren(errorView(error, render));
  }
  content.removeAttribute("aria-busy");
}

function greeting(town) {
  const hello = me.first_name ? format(_("Hello, {name}!"), { name: me.first_name }) : _("Hello!");
  return h(
    "header",
    {},
    h("h1", {}, hello),
    town &&
      h(
        "p",
        { class: "town-line" },
        h("span", { id: "town" }, format(_("Your town: {town}"), { town: town.name })),
        h("button", { type: "button", class: "link", "aria-expanded": String(choosing), onclick: toggleChooser }, _("Change town")),
      ),
  );
}

function toggleChooser() {
  choosing = !choosing;
  render();
}

/** The platform's administrators reach the administration (its towns) from any town. */
function platformCard(list = []) {
  if (!me.is_platform_admin || list.some((service) => service.slug === "admin")) return null;
  return h(
    "a",
    { class: "card", href: appUrl("admin/?view=platform"), "data-slug": "platform" },
    h("span", { class: "card-icon", "aria-hidden": "true" }, "🌐"),
    h("span", { class: "card-text" }, h("strong", {}, _("Towns of the platform")), h("span", { class: "hint" }, _("New towns and their first administrators"))),
  );
}

async function services(town, request) {
  const list = await (request || api("/municipalities/" + town.id + "/services"));
  if (!list.length) return [h("p", { class: "hint" }, _("No services are available here yet.")), platformCard()];
  return [
    h("h2", {}, _("Services")),
    h(
      "nav",
      { class: "cards" },
      list.map((service) =>
        h(
          "a",
          { class: "card", href: appUrl(service.path), "data-slug": service.slug },
          h("span", { class: "card-icon", "aria-hidden": "true" }, service.icon),
          h("span", { class: "card-text" }, h("strong", {}, service.title), h("span", { class: "hint" }, service.description)),
        ),
      ),
      platformCard(list),
    ),
  ];
}

async function towns(current, request) {
  const list = await (request || api("/municipalities"));
  if (!list.length) return [h("p", { class: "hint" }, _("No town is connected yet. Please come back later.")), platformCard()];
  return [
    h("h2", {}, _("Choose your town:")),
    h(
      "div",
      { class: "cards" },
      list.map((town) =>
        h(
          "button",
          { type: "button", class: "card", "aria-current": town.id === current?.id ? "true" : false, onclick: act(() => choose(town)) },
          town.name,
        ),
      ),
    ),
  ];
}

async function choose(town) {
  me = await api("/me", { method: "PATCH", body: { municipality_id: town.id } });
  choosing = false;
  haptic("success");
  await render();
}

main();
