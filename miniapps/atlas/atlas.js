// The Atlas of Happiness: residents share stories about life in the town (with photos) and see
// their own; organizers curate the town's public page: stories to approve or decline, figures
// of the three factors with their sources and dates, places and communities on the map, the
// population and which sections are published. The page itself is server-rendered HTML at
// /atlas/<town>; this miniapp only edits what it shows.
import {
  _, act, api, confirmDialog, errorScreen, errorView, externalLink, field, format, formatDate, h, haptic, input, launch, mainButton,
  notice, prefetch, section, select, sheet, spinner, start, useLocale, useTimeZone,
} from "../shared/glocal.js";

const root = document.getElementById("app");
const FACTORS = [
  ["employment", () => _("Employment")],
  ["leisure", () => _("Quality of leisure")],
  ["expectations", () => _("Positive expectations")],
];
const STATUS = { pending: () => _("waiting for moderation"), approved: () => _("published"), rejected: () => _("declined") };
const PHOTO_SIDE = 1600; // longest side after scaling: sharp on a phone, well under 1 MB as JPEG
const MAX_PHOTOS = 3;

let me = null;
let townId = null;
let tab = "stories";
let dropMain = null; // the share form's main button, taken away when the view is drawn again
const photoUrls = new Map(); // file id -> object URL (files need the launch data, so <img src> cannot fetch them)

async function main() {
  const meRequest = prefetch("/me");
  if (!(await start())) return;
  try {
    me = await meRequest;
    await useLocale(me.locale);
  } catch (error) {
    root.replaceChildren(errorScreen(error, () => location.reload()));
    return;
  }
  const asked = Number(new URLSearchParams(location.search).get("town"));
  townId = Number.isInteger(asked) && asked > 0 ? asked : me.current_municipality?.id || null;
  useTimeZone(me.current_municipality?.timezone);
  if (!townId) {
    root.replaceChildren(errorScreen({ status: 404, message: _("Choose your town in the services first.") }));
    return;
  }
  await load();
}

function base() {
  return "/municipalities/" + townId + "/atlas";
}

async function load() {
  dropMain?.();
  dropMain = null;
  root.replaceChildren(spinner());
  document.title = _("Atlas of Happiness");
  let mine;
  try {
    mine = await api(base() + "/mine");
  } catch (error) {
    root.replaceChildren(errorScreen(error, load));
    return;
  }
  const wantsShare = new URLSearchParams(location.search).get("view") === "share";
  if (mine.may_curate && !wantsShare) await curate(mine);
  else residentView(mine);
}

// -- small building blocks ------------------------------------------------------------------

function errorLine() {
  return h("p", { class: "form-error", role: "alert", hidden: true });
}

function showError(slot, error, form) {
  slot.textContent = error.message;
  slot.hidden = false;
  for (const el of form?.querySelectorAll("[aria-invalid]") || []) el.removeAttribute("aria-invalid");
  for (const name of error.fields || []) form?.querySelector(`[data-field="${CSS.escape(name)}"]`)?.setAttribute("aria-invalid", "true");
  haptic("error");
}

function pageLink(url) {
  return externalLink(url, { class: "button secondary", id: "page-link" }, _("Open the town's Atlas"));
}

async function photo(fileId) {
  if (!photoUrls.has(fileId)) {
    const response = await api("/municipalities/" + townId + "/files/" + fileId, { raw: true });
    photoUrls.set(fileId, URL.createObjectURL(await response.blob()));
  }
  return photoUrls.get(fileId);
}

function photos(story) {
  const strip = h("div", { class: "atlas-photos" });
  for (const id of story.photos) {
    const img = h("img", { alt: story.title, "data-file": id, style: "max-width:100%;border-radius:10px;margin-top:6px" });
    strip.append(img);
    photo(id).then((url) => (img.src = url)).catch(() => img.remove());
  }
  return strip;
}

function storyCard(story, actions) {
  return h(
    "article",
    { class: "section story", "data-story": story.id, "data-status": story.status, style: "margin-bottom:8px" },
    h("strong", {}, story.title),
    h("p", { class: "hint" }, story.signature + " · " + STATUS[story.status]() + " · " + formatDate(story.created_at, { dateStyle: "medium" })),
    h("p", { style: "white-space:pre-wrap" }, story.body),
    photos(story),
    story.reject_reason && h("p", { class: "hint" }, format(_("Reason: {reason}"), { reason: story.reject_reason })),
    actions,
  );
}

// -- residents ------------------------------------------------------------------------------

function residentView(mine) {
  const list = mine.stories.map((s) =>
    storyCard(s, h("button", { type: "button", class: "button secondary danger-text", "data-action": "withdraw", onclick: act(() => withdraw(s)) }, _("Withdraw the story"))),
  );
  const form = h("div", { id: "share" });
  root.replaceChildren(
    h("header", {}, h("h1", {}, _("Atlas of Happiness")), h("p", { class: "hint" }, _("Your town's page: figures, places and residents' stories."))),
    section(null, {}, pageLink(mine.page_url)),
    section(_("Share a story"), {}, form),
    mine.stories.length ? h("h2", {}, _("Your stories")) : null,
    ...list,
  );
  shareForm(form);
}

function shareForm(container) {
  const title = input({ id: "story-title", "data-field": "title", maxlength: 200 });
  const body = h("textarea", { id: "story-body", "data-field": "body", maxlength: 4000, rows: 6 });
  const signature = input({ id: "story-signature", "data-field": "signature", maxlength: 100, value: me.first_name || "" });
  const files = h("input", { type: "file", id: "story-photos", accept: "image/jpeg,image/png,image/webp", multiple: true });
  const error = errorLine();
  container.replaceChildren(
    h("p", { class: "hint" }, _("A positive story about life in the town: a place, a person, something you did together. Organizers read it before it is published.")),
    field(_("Title"), title),
    field(_("Your story"), body),
    field(_("How to sign it"), signature, _("For example: «Anna, teacher»")),
    field(format(_("Photos (up to {n})"), { n: MAX_PHOTOS }), files),
    error,
  );
  dropMain = mainButton(_("Send for moderation"), async () => {
    try {
      const story = await api(base() + "/stories", { method: "POST", body: { title: title.value, body: body.value, signature: signature.value } });
      // The story is saved now: a photo that fails is reported, not a reason to send it twice.
      let photoError = null;
      for (const file of [...files.files].slice(0, MAX_PHOTOS)) {
        try {
          const response = await fetchPhoto(story.id, await scaled(file));
          if (!response.ok) photoError = (await response.json().catch(() => ({}))).message || _("The photo was not accepted.");
        } catch (err) {
          photoError = err.message;
        }
      }
      haptic(photoError ? "warning" : "success");
      notice(photoError || _("Thank you! Your story will appear once organizers approve it."), photoError ? "error" : "ok");
      await load();
    } catch (err) {
      showError(error, err, container);
    }
  }, container);
}

/** A photo scaled down in the browser (the request may carry at most 1 MB), as JPEG. */
async function scaled(file) {
  const bitmap = await createImageBitmap(file);
  const k = Math.min(1, PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = h("canvas", { width: Math.round(bitmap.width * k), height: Math.round(bitmap.height * k) });
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  for (const quality of [0.85, 0.7, 0.5]) {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
    if (blob && blob.size < 1_000_000) return blob;
  }
  throw new Error(_("The photo is larger than 1 MB."));
}

/** The photo's bytes as the body (the shared `api()` sends JSON only). */
async function fetchPhoto(storyId, blob) {
  const url = new URL("../../api/v1" + base() + "/stories/" + storyId + "/photos", import.meta.url).href;
  try {
    return await fetch(url, { method: "POST", headers: { Authorization: "tma " + launch.initData, "Content-Type": blob.type || "image/jpeg" }, body: blob });
  } catch {
    throw new Error(_("No connection to the server. Check the internet and try again."));
  }
}

async function withdraw(story) {
  if (!(await confirmDialog(_("Withdraw this story? It will be deleted with its photos.")))) return;
  await api(base() + "/stories/" + story.id, { method: "DELETE" });
  notice(_("The story is withdrawn."));
  await load();
}

// -- organizers -----------------------------------------------------------------------------

async function curate() {
  let view;
  try {
    view = await api(base());
  } catch (error) {
    root.replaceChildren(errorScreen(error, load));
    return;
  }
  const pending = view.stories.filter((s) => s.status === "pending").length;
  const tabs = [
    ["stories", pending ? format(_("Stories ({n})"), { n: pending }) : _("Stories")],
    ["figures", _("Figures")],
    ["places", _("Places")],
    ["sections", _("Sections")],
  ];
  const content = h("div", { id: "content" });
  root.replaceChildren(
    h("header", {}, h("h1", {}, _("Atlas of Happiness")), h("p", { class: "hint" }, _("What the town's public page shows."))),
    section(null, {}, pageLink(view.page_url)),
    h("div", { class: "segmented", role: "tablist" }, tabs.map(([key, label]) =>
      h("button", { type: "button", "data-tab": key, "aria-pressed": String(tab === key), onclick: () => { tab = key; curate(); } }, label))),
    content,
  );
  const draw = { stories: storiesTab, figures: figuresTab, places: placesTab, sections: sectionsTab }[tab];
  try {
    draw(content, view);
  } catch (error) {
    content.replaceChildren(errorView(error, curate));
  }
}

function storiesTab(content, view) {
  if (!view.stories.length) {
    content.replaceChildren(h("p", { class: "hint" }, _("No stories yet.")));
    return;
  }
  content.replaceChildren(...view.stories.map((s) => storyCard(s, h(
    "div", { class: "chips", style: "margin-top:8px" },
    s.status !== "approved" && h("button", { type: "button", class: "button small", "data-action": "approve", onclick: act(() => moderate(s, "approve")) }, _("Publish")),
    s.status !== "rejected" && h("button", { type: "button", class: "button small secondary", "data-action": "reject", onclick: () => declineSheet(s) }, s.status === "approved" ? _("Unpublish") : _("Decline")),
  ))));
}

async function moderate(story, decision, reason) {
  await api(base() + "/stories/" + story.id + "/moderation", { method: "POST", body: { decision, reason: reason || null } });
  haptic("success");
  notice(decision === "approve" ? _("Published.") : _("Declined."));
  await curate();
}

function declineSheet(story) {
  const reason = h("textarea", { id: "decline-reason", "data-field": "reason", maxlength: 500, rows: 3 });
  const error = errorLine();
  const opened = sheet({
    id: "decline-sheet", title: _("Decline the story"),
    content: [section(null, {}, field(_("Reason (the author will see it)"), reason), error)],
    main: { text: _("Decline"), run: async () => {
      try {
        await moderate(story, "reject", reason.value.trim());
        opened.close();
      } catch (err) {
        showError(error, err, opened.element);
      }
    } },
  });
}

function figuresTab(content, view) {
  const add = h("button", { type: "button", class: "button", id: "add-figure", onclick: () => figureSheet(null) }, _("Add a figure"));
  content.replaceChildren(
    add,
    ...FACTORS.map(([key, title]) => {
      const rows = view.figures.filter((f) => f.factor === key);
      return section(title(), { "data-factor": key }, rows.length
        ? h("div", { class: "rows" }, rows.map((f) => h(
          "button", { type: "button", class: "row", "data-figure": f.id, onclick: () => figureSheet(f) },
          h("span", { class: "row-text" }, h("strong", {}, f.title + ": " + f.value + (f.unit ? " " + f.unit : "")),
            h("span", { class: "hint" }, f.source + ", " + formatDate(f.as_of, { dateStyle: "medium" }))),
          h("span", { class: "row-chevron", "aria-hidden": "true" }, "›"),
        )))
        : h("p", { class: "hint" }, _("No figures yet.")));
    }),
  );
}

function figureSheet(figure) {
  const f = figure || { factor: "employment", title: "", value: "", unit: "", source: "", as_of: new Date().toISOString().slice(0, 10), sort: 100 };
  const factor = select({ id: "figure-factor", "data-field": "factor" }, FACTORS.map(([k, t]) => [k, t()]), f.factor);
  const title = input({ id: "figure-title", "data-field": "title", value: f.title, maxlength: 200 });
  const value = input({ id: "figure-value", "data-field": "value", value: f.value, inputmode: "decimal" });
  const unit = input({ id: "figure-unit", "data-field": "unit", value: f.unit, maxlength: 40 });
  const source = input({ id: "figure-source", "data-field": "source", value: f.source, maxlength: 300 });
  const asOf = input({ id: "figure-date", "data-field": "as_of", type: "date", value: f.as_of });
  const error = errorLine();
  const form = section(null, {}, field(_("Factor"), factor), field(_("What is measured"), title), field(_("Value"), value),
    field(_("Unit"), unit, _("For example: %, ₽ a month, people")), field(_("Source"), source), field(_("Date of the figure"), asOf), error);
  const remove = figure && h("button", { type: "button", class: "button secondary danger-text", id: "delete-figure", onclick: act(async () => {
    if (!(await confirmDialog(_("Delete this figure?")))) return;
    await api(base() + "/figures/" + figure.id, { method: "DELETE" });
    opened.close();
    await curate();
  }) }, _("Delete"));
  const opened = sheet({
    id: "figure-sheet", title: figure ? _("Figure") : _("New figure"), content: [form, remove],
    main: { text: _("Save"), run: async () => {
      const body = { factor: factor.value, title: title.value, value: Number(String(value.value).replace(",", ".").replace(/\s/g, "")),
        unit: unit.value, source: source.value, as_of: asOf.value, sort: f.sort ?? 100 };
      if (value.value === "" || !Number.isFinite(body.value)) body.value = value.value; // the server names the field
      try {
        await api(base() + "/figures" + (figure ? "/" + figure.id : ""), { method: figure ? "PUT" : "POST", body });
        opened.close();
        notice(_("Saved."));
        await curate();
      } catch (err) {
        showError(error, err, opened.element);
      }
    } },
  });
}

function placesTab(content, view) {
  const add = h("button", { type: "button", class: "button", id: "add-place", onclick: () => placeSheet(null) }, _("Add a place or community"));
  content.replaceChildren(add, section(null, {}, view.places.length
    ? h("div", { class: "rows" }, view.places.map((p) => h(
      "button", { type: "button", class: "row", "data-place": p.id, onclick: () => placeSheet(p) },
      h("span", { class: "row-text" }, h("strong", {}, p.name),
        h("span", { class: "hint" }, (p.kind === "community" ? _("Community") : _("Place")) + (p.lat !== null ? " · 📍" : ""))),
      h("span", { class: "row-chevron", "aria-hidden": "true" }, "›"),
    )))
    : h("p", { class: "hint" }, _("No places or communities yet."))));
}

function placeSheet(place) {
  const p = place || { kind: "place", name: "", description: "", lat: null, lon: null, link: null, sort: 100 };
  const kind = select({ id: "place-kind", "data-field": "kind" }, [["place", _("Place")], ["community", _("Community")]], p.kind);
  const name = input({ id: "place-name", "data-field": "name", value: p.name, maxlength: 200 });
  const description = h("textarea", { id: "place-description", "data-field": "description", maxlength: 1000, rows: 3 }, p.description || "");
  const lat = input({ id: "place-lat", "data-field": "lat", value: p.lat ?? "", inputmode: "decimal" });
  const lon = input({ id: "place-lon", "data-field": "lon", value: p.lon ?? "", inputmode: "decimal" });
  const link = input({ id: "place-link", "data-field": "link", value: p.link || "", placeholder: "https://" });
  const error = errorLine();
  const number = (el) => (el.value.trim() === "" ? null : Number(el.value.replace(",", ".")));
  const form = section(null, {}, field(_("Kind"), kind), field(_("Name"), name), field(_("Description"), description),
    field(_("Latitude"), lat, _("For a pin on the map, e.g. 56.1290")), field(_("Longitude"), lon), field(_("Site or channel"), link), error);
  const remove = place && h("button", { type: "button", class: "button secondary danger-text", id: "delete-place", onclick: act(async () => {
    if (!(await confirmDialog(_("Delete this place?")))) return;
    await api(base() + "/places/" + place.id, { method: "DELETE" });
    opened.close();
    await curate();
  }) }, _("Delete"));
  const opened = sheet({
    id: "place-sheet", title: place ? p.name : _("New place or community"), content: [form, remove],
    main: { text: _("Save"), run: async () => {
      const body = { kind: kind.value, name: name.value, description: description.value, lat: number(lat), lon: number(lon),
        link: link.value.trim() || null, sort: p.sort ?? 100 };
      try {
        await api(base() + "/places" + (place ? "/" + place.id : ""), { method: place ? "PUT" : "POST", body });
        opened.close();
        notice(_("Saved."));
        await curate();
      } catch (err) {
        showError(error, err, opened.element);
      }
    } },
  });
}

function sectionsTab(content, view) {
  const s = view.settings;
  const population = input({ id: "population", "data-field": "population", value: s.population ?? "", inputmode: "numeric" });
  const tagline = input({ id: "tagline", "data-field": "tagline", value: s.tagline || "", maxlength: 300 });
  const switches = view.sections.map((sec) => {
    const box = h("input", { type: "checkbox", role: "switch", class: "switch", checked: sec.shown, "data-section": sec.key, "data-field": "show_" + sec.key });
    return { key: sec.key, box, element: h("label", { class: "switch-row" }, h("span", {}, sec.title), box) };
  });
  const error = errorLine();
  const form = section(null, {}, field(_("Population of the town"), population, _("Participation is counted per 1,000 residents.")),
    field(_("A line under the town's name"), tagline), h("h2", {}, _("Published sections")), ...switches.map((x) => x.element), error);
  const save = h("button", { type: "button", class: "button", id: "save-sections", onclick: act(async () => {
    const body = { population: population.value.trim() === "" ? null : Number(population.value), tagline: tagline.value.trim() || null };
    for (const x of switches) body["show_" + x.key] = x.box.checked;
    try {
      await api(base() + "/settings", { method: "PUT", body });
      notice(_("Saved."));
      haptic("success");
    } catch (err) {
      showError(error, err, form);
    }
  }) }, _("Save"));
  content.replaceChildren(form, save);
}

main();
