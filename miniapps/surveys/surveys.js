// Surveys: organizers build a survey (questions of seven kinds, required or not, shown on a
// condition), open and close it, read its results (the server draws the charts as SVG),
// export them and publish them; residents answer open surveys here as in the chat.
// Organizers are told who is not reached: anonymous respondents cannot be sent the results.
import {
  _, act, api, download, errorScreen, errorView, format, formatDate, h, notice, section, spinner, start, useLocale,
} from "../shared/glocal.js";

const KINDS = ["single", "multiple", "scale", "number", "date", "text", "photo"];
const root = document.getElementById("app");
const query = new URLSearchParams(location.search);

let me = null;
let townId = null;
let base = "";

function kindTitle(kind) {
  const titles = {
    single: _("One choice"), multiple: _("Several choices"), scale: _("Scale"), number: _("Number"), date: _("Date"),
    text: _("Free text"), photo: _("Photo"),
  };
  return titles[kind] || kind;
}

function statusTitle(survey) {
  if (survey.status === "draft") return _("Draft");
  if (survey.status === "closed") return survey.results_published ? _("Closed, results published") : _("Closed");
  return survey.accepting ? _("Open") : _("Scheduled");
}

function positiveInt(value) {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : null;
}

// <input type="datetime-local"> speaks the device's local time, the API UTC.
function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function field(label, input) {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

// -- start ---------------------------------------------------------------------------------

async function main() {
  const meRequest = api("/me");
  meRequest.catch(() => {});
  if (!(await start())) return;
  try {
    me = await meRequest;
    await useLocale(me.locale);
  } catch (error) {
    root.replaceChildren(errorScreen(error, main));
    return;
  }
  townId = positiveInt(query.get("town")) || me.current_municipality?.id || null;
  if (!townId) {
    root.replaceChildren(h("h1", {}, _("Surveys")), h("p", {}, _("Choose your town in the services first.")));
    return;
  }
  base = `/municipalities/${townId}`;
  await home();
}

// Organizers get the list of every survey; everyone else the surveys open to them.
async function home() {
  root.replaceChildren(spinner());
  try {
    const surveys = await api(`${base}/surveys`);
    renderOrganizer(surveys);
  } catch (error) {
    if (error.status !== 403) {
      root.replaceChildren(errorScreen(error, home));
      return;
    }
    await residentHome();
  }
}

// -- organizers: the list --------------------------------------------------------------------

function renderOrganizer(surveys) {
  const list = h("ul", { id: "surveys", class: "list" },
    surveys.map((s) => h("li", { "data-id": s.id },
      h("a", { href: "#", class: "row", onclick: (e) => { e.preventDefault(); editor(s.id); } },
        h("strong", { class: "title" }, s.title),
        h("span", { class: "status" }, statusTitle(s)),
        h("span", { class: "count" }, format(_("Responses: {n}"), { n: s.responses })),
        s.anonymous && h("span", { class: "badge" }, _("Anonymous"))))));
  const newTitle = h("input", { id: "new-title", type: "text", maxlength: 200, placeholder: _("Title of the survey") });
  root.replaceChildren(
    h("h1", {}, _("Surveys")),
    surveys.length ? section(null, {}, list) : h("p", { class: "hint" }, _("No surveys yet.")),
    section(_("New survey"), {},
      field(_("Title"), newTitle),
      h("button", { type: "button", id: "create", class: "button", onclick: act(async () => {
        const title = newTitle.value.trim();
        if (!title) { notice(_("Give the survey a title."), "error"); return; }
        const survey = await api(`${base}/surveys`, { method: "POST", body: { title, anonymous: true } });
        await editor(survey.id);
      }) }, _("Create")),
      h("button", { type: "button", id: "from-template", class: "button secondary", onclick: act(async () => {
        const survey = await api(`${base}/surveys/from-template`, { method: "POST", body: { template: "maturity_audit" } });
        notice(_("The resident survey of the maturity audit is created as a draft."));
        await editor(survey.id);
      }) }, _("Resident survey of the maturity audit"))),
  );
}

// -- organizers: one survey ------------------------------------------------------------------

function optionLines(q) {
  return (q.options || []).map((o) => o.label).join("\n");
}

function slug(text, taken) {
  let key = String(text).toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 12) || "o";
  let n = 1;
  let candidate = key;
  while (taken.has(candidate)) candidate = `${key}_${++n}`.slice(0, 16);
  taken.add(candidate);
  return candidate;
}

// A question's editor. Option keys are kept for labels that stay, so a new version still
// counts earlier answers under the same options.
function questionEditor(q, index, all, onRemove) {
  const text = h("input", { type: "text", class: "q-text", maxlength: 500, value: q.text || "" });
  const kind = h("select", { class: "q-kind" }, KINDS.map((k) => h("option", { value: k, selected: k === q.kind }, kindTitle(k))));
  const required = h("input", { type: "checkbox", class: "q-required", checked: q.required !== false });
  const options = h("textarea", { class: "q-options", rows: 4, placeholder: _("One option a line") }, optionLines(q));
  const scaleMax = h("input", { type: "number", class: "q-scale-max", min: 2, max: 10, value: q.scale_max || 5 });
  const earlier = all.slice(0, index).filter((p) => p.kind === "single" || p.kind === "multiple");
  const condQuestion = h("select", { class: "q-cond" },
    h("option", { value: "" }, _("Always")),
    earlier.map((p) => h("option", { value: p.key, selected: q.show_if?.question === p.key }, format(_("When “{text}” is answered"), { text: p.text }))));
  const condValue = h("input", { type: "text", class: "q-cond-value", placeholder: _("with the option"),
    value: q.show_if ? q.show_if.any_of.map((k) => (earlier.find((p) => p.key === q.show_if.question)?.options || []).find((o) => o.key === k)?.label || k).join(", ") : "" });
  const optionsRow = field(_("Options"), options);
  const scaleRow = field(_("Highest mark"), scaleMax);
  const sync = () => {
    optionsRow.hidden = !["single", "multiple"].includes(kind.value);
    scaleRow.hidden = kind.value !== "scale";
  };
  kind.addEventListener("change", sync);
  sync();
  const box = h("fieldset", { class: "question", "data-key": q.key },
    h("legend", {}, format(_("Question {n}"), { n: index + 1 })),
    field(_("Question"), text), field(_("Kind"), kind), optionsRow, scaleRow,
    h("label", { class: "check" }, required, _("Required")),
    earlier.length ? h("div", { class: "condition" }, field(_("Show"), condQuestion), condValue) : null,
    h("button", { type: "button", class: "button secondary remove", onclick: onRemove }, _("Remove the question")));
  box.read = () => {
    const out = { key: q.key, kind: kind.value, text: text.value.trim(), required: required.checked };
    if (out.kind === "single" || out.kind === "multiple") {
      const taken = new Set();
      const old = new Map((q.options || []).map((o) => [o.label, o.key]));
      out.options = options.value.split("\n").map((l) => l.trim()).filter(Boolean).map((label) => {
        const key = old.has(label) && !taken.has(old.get(label)) ? old.get(label) : slug(label, taken);
        taken.add(key);
        return { key, label };
      });
    }
    if (out.kind === "scale") { out.scale_min = 1; out.scale_max = Number(scaleMax.value) || 5; }
    if (condQuestion.value) {
      const ref = all.find((p) => p.key === condQuestion.value);
      const labels = condValue.value.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
      const keys = (ref?.options || []).filter((o) => labels.includes(o.label.toLowerCase()) || labels.includes(o.key)).map((o) => o.key);
      out.show_if = { question: condQuestion.value, any_of: keys.length ? keys : labels };
    }
    return out;
  };
  return box;
}

function newKey(questions) {
  const taken = new Set(questions.map((q) => q.key));
  let n = questions.length + 1;
  while (taken.has(`q${n}`)) n += 1;
  return `q${n}`;
}

async function editor(surveyId) {
  root.replaceChildren(spinner());
  let survey;
  try {
    survey = await api(`${base}/surveys/${surveyId}`);
  } catch (error) {
    root.replaceChildren(errorScreen(error, () => editor(surveyId)));
    return;
  }
  let questions = survey.questions.slice();
  const title = h("input", { id: "title", type: "text", maxlength: 200, value: survey.title });
  const description = h("textarea", { id: "description", rows: 3, maxlength: 4000 }, survey.description);
  const anonymous = h("input", { id: "anonymous", type: "checkbox", checked: survey.anonymous, disabled: survey.responses > 0 });
  const closes = h("input", { id: "closes", type: "datetime-local", value: localInput(survey.closes_at) });
  const audienceKind = h("select", { id: "audience" },
    [["town", _("The whole town")], ["roles", _("People with roles")], ["tags", _("Communities (by tag)")], ["topic", _("Subscribers of a topic")]]
      .map(([v, label]) => h("option", { value: v, selected: survey.audience.kind === v }, label)));
  const ROLES = [["resident", _("Residents")], ["entrepreneur", _("Entrepreneurs")], ["investor", _("Investors")], ["mentor", _("Mentors")],
    ["tutor", _("Tutors")], ["clerk", _("Clerks")], ["organizer", _("Organizers")]];
  const roleBoxes = ROLES.map(([v, label]) => h("label", { class: "check" },
    h("input", { type: "checkbox", class: "aud-role", value: v, checked: survey.audience.roles.includes(v) }), label));
  const roleRow = h("div", { id: "audience-roles" }, roleBoxes);
  const tags = h("input", { id: "audience-tags", type: "text", placeholder: _("Tags, separated by commas"), value: survey.audience.tags.join(", ") });
  const topic = h("input", { id: "audience-topic", type: "text", maxlength: 64, value: survey.audience.topic || "" });
  const tagRow = field(_("Tags"), tags);
  const topicRow = field(_("Topic"), topic);
  const syncAudience = () => {
    roleRow.hidden = audienceKind.value !== "roles";
    tagRow.hidden = audienceKind.value !== "tags";
    topicRow.hidden = audienceKind.value !== "topic";
  };
  audienceKind.addEventListener("change", syncAudience);
  syncAudience();
  const readAudience = () => ({
    kind: audienceKind.value,
    roles: audienceKind.value === "roles" ? [...roleRow.querySelectorAll(".aud-role:checked")].map((i) => i.value) : [],
    tags: audienceKind.value === "tags" ? tags.value.split(",").map((t) => t.trim()).filter(Boolean) : [],
    topic: audienceKind.value === "topic" && topic.value.trim() ? topic.value.trim() : null,
  });
  const list = h("div", { id: "questions" });
  let editors = [];
  const redrawFrom = () => {
    editors = questions.map((q, i) => questionEditor(q, i, questions, () => { questions = editors.map((e) => e.read()); questions.splice(i, 1); redrawFrom(); }));
    list.replaceChildren(...editors);
  };
  redrawFrom();

  const save = act(async () => {
    questions = editors.map((e) => e.read());
    const closesAt = closes.value ? new Date(closes.value).toISOString() : null;
    await api(`${base}/surveys/${surveyId}`, {
      method: "PATCH",
      body: {
        title: title.value.trim(), description: description.value, closes_at: closesAt, audience: readAudience(),
        ...(survey.responses ? {} : { anonymous: anonymous.checked }),
      },
    });
    const saved = await api(`${base}/surveys/${surveyId}/questions`, { method: "PUT", body: { questions } });
    notice(saved.version > survey.version ? format(_("Saved as version {n}: earlier answers keep their questions."), { n: saved.version }) : _("Saved."));
    survey = saved;
    await editor(surveyId);
  });
  const actions = [];
  if (survey.status !== "open") {
    actions.push(h("button", { type: "button", id: "open", class: "button", onclick: act(async () => {
      await api(`${base}/surveys/${surveyId}/open`, { method: "POST" });
      notice(_("The survey is open."));
      await editor(surveyId);
    }) }, _("Open the survey")));
  } else {
    actions.push(h("button", { type: "button", id: "close", class: "button secondary", onclick: act(async () => {
      await api(`${base}/surveys/${surveyId}/close`, { method: "POST" });
      notice(_("The survey is closed."));
      await editor(surveyId);
    }) }, _("Close the survey")));
  }
  root.replaceChildren(
    h("p", {}, h("a", { href: "#", onclick: (e) => { e.preventDefault(); home(); } }, "← " + _("All surveys"))),
    h("h1", {}, survey.title),
    h("p", { class: "status", id: "status" }, statusTitle(survey), " · ", format(_("Responses: {n}"), { n: survey.responses }),
      " · ", format(_("Version {n}"), { n: survey.version })),
    survey.locked && h("p", { class: "hint" }, _("People have answered these questions: saving changes makes a new version, and earlier answers keep theirs.")),
    !survey.audience_resolved && h("p", { class: "hint" }, _("Communities and topics are not resolved yet: everyone in the town may answer.")),
    h("p", { class: "hint" }, format(_("Deep link for the bot: start=srv_{id}"), { id: survey.id })),
    section(_("About"), {}, field(_("Title"), title), field(_("Description"), description),
      h("label", { class: "check" }, anonymous, _("Anonymous: answers are kept with no link to people")),
      field(_("Closes at"), closes)),
    section(_("Who it is for"), {}, field(_("Audience"), audienceKind), roleRow, tagRow, topicRow),
    section(_("Questions"), {}, list,
      h("button", { type: "button", id: "add", class: "button secondary", onclick: () => {
        questions = editors.map((e) => e.read());
        questions.push({ key: newKey(questions), kind: "single", text: "", required: true, options: [] });
        redrawFrom();
      } }, _("Add a question"))),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "save", class: "button", onclick: save }, _("Save")), ...actions),
    h("div", { id: "results" }),
  );
  if (survey.responses || survey.status !== "draft") await results(survey);
}

// -- organizers: results ---------------------------------------------------------------------

async function chart(surveyId, key) {
  const response = await api(`${base}/surveys/${surveyId}/charts/${key}`, { raw: true });
  const svg = new DOMParser().parseFromString(await response.text(), "image/svg+xml").documentElement;
  if (svg.nodeName !== "svg") return h("p", {}, _("No answers to chart."));
  svg.setAttribute("class", "chart");
  svg.setAttribute("width", "100%");
  svg.removeAttribute("height");
  return document.importNode(svg, true);
}

async function results(survey) {
  const box = document.getElementById("results");
  box.replaceChildren(spinner());
  try {
    const data = await api(`${base}/surveys/${survey.id}/results`);
    const blocks = [];
    for (const q of data.questions) {
      const parts = [];
      if (q.kind === "text") {
        parts.push(q.texts.length ? h("ul", { class: "texts" }, q.texts.map((t) => h("li", {}, t))) : h("p", { class: "hint" }, _("No answers yet.")));
      } else if (q.kind === "photo") {
        parts.push(h("p", {}, format(_("Photos: {n}"), { n: q.photos.length })));
        const gallery = h("div", { class: "photos" });
        parts.push(gallery);
        // A plain <img> cannot carry the launch data: each photo is fetched, then shown from a blob.
        for (const id of q.photos.slice(0, 12)) {
          api(`${base}/files/${id}`, { raw: true })
            .then((r) => r.blob())
            .then((blob) => gallery.append(h("img", { src: URL.createObjectURL(blob), alt: "", class: "photo" })))
            .catch(() => {});
        }
      } else {
        parts.push(await chart(survey.id, q.key));
      }
      blocks.push(section(q.text, { "data-key": q.key, class: "block result" }, ...parts));
    }
    const rate = data.eligible ? format(_("{n} of {total} people answered"), { n: data.responses, total: data.eligible }) : format(_("Responses: {n}"), { n: data.responses });
    const publish = survey.status === "closed" && !survey.results_published
      ? h("button", { type: "button", id: "publish", class: "button", onclick: act(async () => {
        await api(`${base}/surveys/${survey.id}/publish`, { method: "POST" });
        notice(survey.anonymous ? _("Published. Anonymous respondents cannot be sent the results: they find them in the bot under /surveys.") : _("Published: every respondent gets the results in the chat."));
        await editor(survey.id);
      }) }, _("Publish the results"))
      : null;
    box.replaceChildren(
      h("h2", {}, _("Results")), h("p", { id: "rate" }, rate),
      survey.anonymous && h("p", { class: "hint" }, _("Anonymous survey: when you publish, respondents cannot be sent the results in chat, because nothing links them to their answers. The results appear under /surveys in the bot.")),
      h("div", { class: "actions" },
        h("button", { type: "button", id: "export-csv", class: "button secondary", onclick: act(() => download(`${base}/surveys/${survey.id}/export?format=csv`, "survey.csv")) }, "CSV"),
        h("button", { type: "button", id: "export-xlsx", class: "button secondary", onclick: act(() => download(`${base}/surveys/${survey.id}/export?format=xlsx`, "survey.xlsx")) }, "XLSX"),
        publish),
      ...blocks,
    );
  } catch (error) {
    box.replaceChildren(errorView(error, () => results(survey)));
  }
}

// -- residents -------------------------------------------------------------------------------

async function residentHome() {
  try {
    const surveys = await api(`${base}/surveys-open`);
    const id = positiveInt(query.get("survey"));
    if (id) { await answerForm(id); return; }
    root.replaceChildren(
      h("h1", {}, _("Surveys")),
      surveys.length
        ? section(null, {}, h("ul", { id: "open-surveys", class: "list" }, surveys.map((s) => h("li", { "data-id": s.id },
          h("a", { href: "#", class: "row", onclick: (e) => { e.preventDefault(); answerForm(s.id); } }, h("strong", {}, s.title),
            s.closes_at && h("span", { class: "hint" }, format(_("until {date}"), { date: formatDate(s.closes_at) })))))))
        : h("p", {}, _("No surveys are open right now.")),
    );
  } catch (error) {
    root.replaceChildren(errorScreen(error, residentHome));
  }
}

function answerInput(q, value) {
  const name = `q_${q.key}`;
  if (q.kind === "single") {
    return h("div", { class: "choices" }, q.options.map((o) => h("label", { class: "check" },
      h("input", { type: "radio", name, value: o.key, checked: value === o.key }), o.label)));
  }
  if (q.kind === "multiple") {
    return h("div", { class: "choices" }, q.options.map((o) => h("label", { class: "check" },
      h("input", { type: "checkbox", name, value: o.key, checked: Array.isArray(value) && value.includes(o.key) }), o.label)));
  }
  if (q.kind === "scale") {
    const marks = [];
    for (let m = q.scale_min; m <= q.scale_max; m += 1) {
      marks.push(h("label", { class: "mark" }, h("input", { type: "radio", name, value: String(m), checked: value === m }), String(m)));
    }
    return h("div", { class: "scale" }, marks);
  }
  if (q.kind === "number") return h("input", { type: "text", inputmode: "decimal", name, value: value ?? "" });
  if (q.kind === "date") return h("input", { type: "date", name, value: value ?? "" });
  if (q.kind === "text") return h("textarea", { name, rows: 3, maxlength: 2000 }, value ?? "");
  return h("p", { class: "hint" }, _("Photos are sent in the chat with the bot: answer this survey there to add one."));
}

function readAnswer(form, q) {
  const name = `q_${q.key}`;
  if (q.kind === "single" || q.kind === "scale") {
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    if (!checked) return null;
    return q.kind === "scale" ? Number(checked.value) : checked.value;
  }
  if (q.kind === "multiple") {
    const values = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
    return values.length ? values : null;
  }
  if (q.kind === "photo") return null;
  const el = form.querySelector(`[name="${name}"]`);
  return el && el.value.trim() ? el.value.trim() : null;
}

function shown(q, answers) {
  if (!q.show_if) return true;
  const given = answers[q.show_if.question];
  const chosen = Array.isArray(given) ? given : given == null ? [] : [given];
  return chosen.some((k) => q.show_if.any_of.includes(k));
}

async function answerForm(surveyId) {
  root.replaceChildren(spinner());
  let survey;
  try {
    survey = await api(`${base}/surveys/${surveyId}/form`);
  } catch (error) {
    root.replaceChildren(errorScreen(error, residentHome));
    return;
  }
  if (survey.answered && !survey.can_change) {
    root.replaceChildren(h("h1", {}, survey.title), h("p", {}, _("You have already answered this anonymous survey. Thank you!")));
    return;
  }
  const form = h("form", { id: "answer" });
  const blocks = survey.questions.map((q) => section(q.text + (q.required ? " *" : ""), { "data-key": q.key, class: "block question" }, answerInput(q, survey.answers[q.key])));
  const refresh = () => {
    const answers = {};
    survey.questions.forEach((q, i) => {
      blocks[i].hidden = !shown(q, answers);
      if (!blocks[i].hidden) {
        const v = readAnswer(form, q);
        if (v !== null) answers[q.key] = v;
      }
    });
    return answers;
  };
  form.addEventListener("change", refresh);
  const consent = survey.anonymous ? null : h("input", { type: "checkbox", id: "consent" });
  form.append(
    h("p", { class: "hint" }, survey.anonymous
      ? _("This survey is anonymous: your answers are stored with no link to you. Answers sent here cannot be changed later; answer in the chat with the bot to get a button that changes them.")
      : _("This survey is not anonymous: the organizers will see your answers with your name. You can change them until the survey closes.")),
    ...blocks,
    consent && h("label", { class: "check" }, consent, _("I agree to the processing of my personal data for this survey (152-FZ)")),
    h("button", { type: "submit", id: "send", class: "button" }, _("Send")),
  );
  form.addEventListener("submit", act(async (event) => {
    event.preventDefault();
    const answers = refresh();
    const result = await api(`${base}/surveys/${surveyId}/response`, { method: "POST", body: { answers, consent: consent ? consent.checked : false } });
    root.replaceChildren(h("h1", {}, survey.title), h("p", { id: "thanks" }, result.replaced ? _("Thank you! Your answers are replaced.") : _("Thank you! Your answers are saved.")));
  }));
  root.replaceChildren(h("h1", {}, survey.title), survey.description && h("p", {}, survey.description), form);
  refresh();
}

main();
