// The page: wires the controls, keys and status line to the stroke model (strokes.js), the
// canvas (canvas.js), the wire (client.js), the shadow guide (guide.js), characters and their
// sheet (character.js) and export (export.js).

import { CanvasView } from "./canvas.js";
import {
  KeptCharacters, SheetRun, characterConditions, identityConditions, sheetCells, sheetPlace,
  sheetShape, whoText,
} from "./character.js";
import { SketchClient, serverUrl } from "./client.js";
import { download, toPng, toSvg } from "./export.js";
import { GuideFeed } from "./guide.js";
import { Sketch, bounds, copyStroke, makeStroke } from "./strokes.js";
import { WIRE } from "./wire.js";

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"), model: $("model"), about: $("model-about"), conditions: $("conditions"),
  conditionsBox: $("conditions-box"),
  variety: $("variety"), alternatives: $("alternatives"), strength: $("strength"),
  guide: $("guide"), tokenForm: $("token-form"), token: $("token"), image: $("image"),
  characterBox: $("character-box"), characterWho: $("character-who"),
};
const buttons = {};
for (const b of document.querySelectorAll("button[data-action]")) buttons[b.dataset.action] = b;

const timing = { ready: null, welcome: null }; // ms since navigation start
const sketch = new Sketch();
const client = new SketchClient(serverUrl(window.location));
let guideDrawings = null; // [{strokes, weight, source}] under the pen, or null
let guideSaidEmpty = false;
const kept = new KeptCharacters(); // each model's kept character, in localStorage
let asked = { id: null, conditions: {} }; // the last suggestion's request: who, where unread
let sheet = null; // the character sheet being drawn: {run, model, seen, streaming, who, paused}
const view = new CanvasView($("paper"), {
  onStroke: ({ points, pressure }) => {
    if (!points.length) return;
    sketch.add(makeStroke(points, pressure));
    drawingChanged();
  },
  scene: () => ({
    strokes: sketch.strokes, guide: guideDrawings,
    suggestion: sheet ? sheetStrokes() : sketch.shownStrokes(),
  }),
});

function say(text, kind = "") {
  ui.status.textContent = text;
  ui.status.className = kind && `status-${kind}`;
}

function model() {
  return client.welcome?.models.find((m) => m.name === ui.model.value) || null;
}

function conditions() {
  const chosen = {};
  for (const el of ui.conditions.querySelectorAll("[data-condition]")) {
    if (el.value.trim()) chosen[el.dataset.condition] = el.value.trim();
  }
  return chosen;
}

/** The kept character of the chosen model, or null: {character, who}. */
function keptCharacter() {
  const m = model();
  return m?.characters ? kept.get(m.name) : null;
}

/** The conditions a request sends: with a character kept, those that say who it is (gender,
 * style) are left out, so the character's own are drawn; emotion and view change the look. */
function requestConditions() {
  const chosen = conditions();
  if (keptCharacter()) for (const name of identityConditions(model().conditions)) delete chosen[name];
  return chosen;
}

// --- connection ------------------------------------------------------------------------------

client.on("status", (state, d) => {
  const where = new URL(client.url).host;
  const again = d.wait ? ` Trying again in ${d.wait} s.` : "";
  ui.tokenForm.hidden = state !== "token";
  if (state === "connecting" || state === "greeting") {
    say(`Connecting to the AI-Sketcher server at ${where}…`, "busy");
  } else if (state === "ready") {
    const names = d.welcome.models.map((m) => m.name).join(", ");
    say(`Connected: ${names} on ${d.welcome.device}. Draw, then press Suggest.`, "ok");
  } else if (state === "token") {
    say(d.wrong ? "That token is wrong: enter the one the server was started with (--token)."
      : "This server needs a token: enter the one it was started with (--token).", "error");
    ui.token.focus();
  } else if (state === "unreachable") {
    say(`Cannot reach the AI-Sketcher server at ${where}: start it with ` +
      `"python -m sketch_server".${again}`, "error");
  } else if (state === "refused") {
    say(`The server at ${where} refused this page, which came from ${location.origin}: open ` +
      `the address the server prints, or start it with --allow-origin ${location.origin}.${again}`,
    "error");
  } else if (state === "lost") {
    say(`Lost the connection to the server at ${where}.${again}`, "error");
  }
  if (state !== "ready" && sketch.suggestion && !sketch.suggestion.done) sketch.reject();
  if (state !== "ready" && sheet) sheet = null; // its requests ended with the connection
  refresh();
});

const varieties = new Map(); // model name -> the Variety the artist chose for it

client.on("welcome", (welcome) => {
  timing.welcome = performance.now();
  const previous = ui.model.value;
  ui.model.replaceChildren(...welcome.models.map((m) => new Option(m.name, m.name)));
  if (welcome.models.some((m) => m.name === previous)) ui.model.value = previous;
  modelChosen();
});

client.on("error", (msg) => say(`The server said: ${msg.message}`, "error"));

ui.tokenForm.addEventListener("submit", (e) => {
  e.preventDefault();
  client.setToken(ui.token.value.trim());
  ui.token.value = "";
});

function modelChosen() {
  const m = model();
  const before = conditions(); // kept where the model still offers them (after a reconnect)
  ui.about.textContent = m?.description || "";
  ui.about.title = ui.about.textContent; // the whole line, where the panel shows only its start
  const fields = Object.entries(m?.conditions || {}).map(([name, values]) => {
    const id = `condition-${name.replace(/\W+/g, "-")}`;
    const label = document.createElement("label");
    Object.assign(label, { htmlFor: id, textContent: name });
    let input;
    if (values.length) {
      input = document.createElement("select");
      input.append(new Option("any", ""), ...values.map((v) => new Option(v, v)));
    } else {
      input = Object.assign(document.createElement("input"), { type: "text", placeholder: "any" });
    }
    Object.assign(input, { id });
    input.dataset.condition = name;
    const kept = before[name];
    if (kept && (!values.length || values.includes(kept))) input.value = kept;
    return [label, input];
  });
  ui.conditions.replaceChildren(...fields.flat());
  ui.conditionsBox.hidden = !fields.length;
  // Variety: the artist's own for this model, else the model's measured best (welcome).
  if (m) ui.variety.value = varieties.get(m.name) ?? m.temperature ?? ui.variety.defaultValue;
  ui.variety.dispatchEvent(new Event("change"));
  refresh();
}
ui.model.addEventListener("change", modelChosen);

ui.variety.addEventListener("input", () => {
  if (model()) varieties.set(model().name, Number(ui.variety.value));
});

// --- suggestions -----------------------------------------------------------------------------

const VERBS = { complete: "Suggesting", generate: "Drawing", refine: "Optimizing",
  trace: "Tracing" };

/** The handlers of a request whose strokes are shown as a suggestion of `mode`. */
function showing(mode) {
  return {
    onStroke: (msg) => {
      if (!sketch.streamed(msg.id, msg.sample, msg.index, msg.points)) return;
      const count = sketch.suggestion.samples.reduce((a, s) => a + s.filter(Boolean).length, 0);
      say(`${VERBS[mode]}… ${count} stroke${count === 1 ? "" : "s"} so far.`, "busy");
      view.update();
      refresh();
    },
    onDone: (msg) => {
      if (sketch.finished(msg.id, msg.samples, msg.sources, msg.cancelled, msg.characters)) {
        describe();
      }
      pumpSheet();
      view.update();
      refresh();
    },
    onError: (msg) => {
      if (sketch.suggestion?.id === msg.id) sketch.reject();
      pumpSheet();
      if (refusedCharacter(msg)) {
        // the status line says so
      } else if (msg.code === "busy") {
        say(`The server is busy: ${msg.message} Try again in a moment.`, "busy");
      } else if (msg.code !== "disconnected") {
        say(`The server refused the request: ${msg.message}`, "error");
      }
      view.update();
      refresh();
    },
  };
}

function ask(mode) {
  const m = model();
  const view0 = view.view();
  const n = Number(ui.alternatives.value);
  const fields = { model: m.name, mode, strokes: sketch.wire(), conditions: requestConditions(),
    n, temperature: Number(ui.variety.value) };  // max_points: the server's default
  if (mode === "refine") fields.strength = Number(ui.strength.value);
  const who = keptCharacter();
  if (who) fields.character = who.character; // the kept person, under the request's conditions
  if (!sketch.strokes.length) {
    const side = Math.min(view0[2], view0[3]) * 0.6;
    const x = (view0[2] - side) / 2, y = (view0[3] - side) / 2;
    fields.bounds = [x, y, x + side, y + side];
  }
  if (sketch.suggestion && !sketch.suggestion.done) client.cancel(sketch.suggestion.id);
  const id = client.suggest(fields, showing(mode));
  sketch.suggest(id, mode, n);
  asked = { id, conditions: conditions() };
  say(`${VERBS[mode]}…`, "busy");
  view.update();
}

// --- tracing an image ------------------------------------------------------------------------

const TRACE_SIDE = 1024; // pixels on the long side sent to the server (it traces at this size)

/** The image file as the bytes the server takes: a JPEG at most TRACE_SIDE pixels a side (a
 * photo of any size or kind the browser can read), and its box: centred in the canvas, 90 % of
 * it at most, keeping the image's proportions. */
async function traceable(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, TRACE_SIDE / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(1, Math.round(bitmap.width * scale));
  const h = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(w, h);
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff"; // a transparent PNG traces as drawn on white paper
  g.fillRect(0, 0, w, h);
  g.drawImage(bitmap, 0, 0, w, h);
  bitmap.close();
  const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.92 });
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  const [, , vw, vh] = view.view();
  const fit = Math.min((0.9 * vw) / w, (0.9 * vh) / h);
  const x = (vw - w * fit) / 2, y = (vh - h * fit) / 2;
  return { image: btoa(text), box: [x, y, x + w * fit, y + h * fit] };
}

async function trace(file) {
  if (!file || !client.welcome?.trace) return;
  if (!/^image\//.test(file.type)) {
    say(`${file.name} is not an image: open a PNG or JPEG photo or painting.`, "error");
    return;
  }
  let fields;
  try {
    fields = await traceable(file);
  } catch (e) {
    say(`This browser cannot read ${file.name} as an image (${e.message || e}).`, "error");
    return;
  }
  stopSuggestion();
  const id = client.trace(fields, showing("trace"));
  if (id === null) return;
  sketch.suggest(id, "trace", 1);
  say(`${VERBS.trace} ${file.name}…`, "busy");
  view.update();
  refresh();
}

ui.image.addEventListener("change", () => {
  trace(ui.image.files[0]);
  ui.image.value = ""; // the same file again traces again
});
const paper = $("paper");
paper.addEventListener("dragover", (e) => {
  if (client.welcome?.trace && [...e.dataTransfer.items].some((i) => i.kind === "file")) {
    e.preventDefault();
  }
});
paper.addEventListener("drop", (e) => {
  e.preventDefault();
  trace(e.dataTransfer.files[0]);
});

function describe() {
  const s = sketch.suggestion;
  if (!s) return;
  if (!s.samples.some((x) => x.length)) {
    say("The model drew nothing this time: try again, or raise Variety.", "busy");
    return;
  }
  const from = s.sources?.[s.shown] ? ` (from ${s.sources[s.shown]})` : "";
  const flip = s.n > 1 ? ", ← → flip" : "";
  say(`Alternative ${s.shown + 1} of ${s.n}${from}: Enter accepts, Esc rejects${flip}.`, "ok");
}

function stopSuggestion() {
  if (sketch.suggestion && !sketch.suggestion.done) client.cancel(sketch.suggestion.id);
}

// --- characters and the character sheet ------------------------------------------------------

/** Say who is kept for the chosen model, and give the pickers that say who (gender, style) the
 * kept character's values, locked until Forget. Part of refresh(). */
function showKept() {
  const m = model();
  ui.characterBox.hidden = !m?.characters;
  if (!m) return;
  const who = keptCharacter();
  const locked = new Set(who ? identityConditions(m.conditions) : []);
  for (const el of ui.conditions.querySelectorAll("[data-condition]")) {
    const name = el.dataset.condition;
    if (locked.has(name)) el.value = who.who?.[name] ?? "";
    el.disabled = locked.has(name);
    el.title = locked.has(name) ? "The kept character's own: Forget it to choose again." : "";
  }
  let note = "None kept: keep the person of an alternative on show to draw them again.";
  if (who) {
    note = `Kept: ${whoText(who.who || {}, m.conditions)}. Suggest, Draw and Optimize draw ` +
      "this person; emotion and view change only the look.";
  } else if (sketch.suggestion?.done && !sketch.shownCharacter()) {
    note = "This alternative has no character (a library continuation): flip to another, or " +
      "press Character sheet for a new person.";
  }
  if (ui.characterWho.textContent !== note) ui.characterWho.textContent = note;
}

/** A request that carried the kept character was refused for it (a character of another
 * version of the model, say): forget it and say so. */
function refusedCharacter(msg) {
  const m = model();
  if (msg.code !== "bad_request" || !/\bcharacter\b/.test(msg.message) || !keptCharacter()) {
    return false;
  }
  kept.forget(m.name);
  say(`The server refused the kept character, so the page forgot it: keep a new one from ` +
    `${m.name}'s drawings (it said: ${msg.message}).`, "error");
  return true;
}

function keep() {
  const m = model();
  const character = sketch.shownCharacter();
  const fallback = asked.id === sketch.suggestion?.id ? asked.conditions : {};
  const who = { ...fallback, ...characterConditions(character, m.conditions) };
  kept.keep(m.name, character, who);
  say(`Kept ${whoText(who, m.conditions)}: Suggest, Draw, Optimize and Character sheet now ` +
    "draw this person.", "ok");
}

/** The sheet's strokes so far: finished faces and those streaming in. */
function sheetStrokes() {
  return [...sheet.run.strokes(), ...[...sheet.streaming.values()].flat().filter(Boolean)];
}

/** Draw the kept character (or, with none, a new one: the first face's) in every emotion and
 * view, beside or below the drawing; the faces join the drawing together once all are in. */
function startSheet() {
  const m = model();
  stopSuggestion();
  sketch.reject();
  const place = sheetPlace(m.conditions, bounds(sketch.strokes), view.view());
  const cells = sheetCells(m.conditions, place.origin, place.cell);
  const run = new SheetRun(cells, keptCharacter()?.character || null);
  sheet = { run, model: m.name, seen: place.seen, streaming: new Map(),
    who: { ...conditions() } }; // for a new character: the pickers' gender and style
  pumpSheet();
  sayProgress();
}

function sayProgress() {
  const { run } = sheet;
  const who = keptCharacter() ? whoText(keptCharacter().who || {}, model().conditions)
    : "a new character";
  say(`Character sheet of ${who}: ${run.drawn} of ${run.cells.length} faces… (Esc stops)`, "busy");
}

/** Ask for the sheet's next faces, within the connection's limit of open requests. */
function pumpSheet() {
  if (!sheet || sheet.paused || client.state !== "ready") return;
  const { run } = sheet;
  const mine = sheet;
  run.pump(client.requests.size - run.open.size, (cell, character) => {
    const fields = { model: mine.model, mode: "generate", strokes: [], n: 1,
      temperature: Number(ui.variety.value), bounds: cell.bounds };
    if (character) {
      fields.character = character;
      fields.conditions = { ...cell.conditions };
    } else { // the first face, alone: its character draws the rest
      fields.conditions = { ...mine.who, ...cell.conditions };
    }
    return client.suggest(fields, sheetFace(mine));
  });
}

/** The handlers of one face of `mine`, a sheet that may have been stopped since. */
function sheetFace(mine) {
  const current = () => sheet === mine;
  return {
    onStroke: (msg) => {
      if (!current() || msg.sample !== 0) return;
      if (!mine.streaming.has(msg.id)) mine.streaming.set(msg.id, []);
      mine.streaming.get(msg.id)[msg.index] = makeStroke(msg.points, null, "model");
      view.update();
    },
    onDone: (msg) => {
      if (!current()) return pumpSheet();
      mine.streaming.delete(msg.id);
      const strokes = (msg.samples[0] || []).map((p) => makeStroke(p, null, "model"));
      const first = !mine.run.character;
      mine.run.finished(msg.id, strokes, msg.characters?.[0] || "");
      if (first && mine.run.character) {
        const m = model();
        const who = { ...mine.who, ...characterConditions(mine.run.character, m.conditions) };
        kept.keep(mine.model, mine.run.character, who);
      }
      sheetStep();
    },
    onError: (msg) => {
      if (!current()) return pumpSheet();
      mine.streaming.delete(msg.id);
      if (msg.code === "disconnected") return; // the status line says the connection is lost
      if (refusedCharacter(msg)) {
        for (const id of mine.run.stop()) client.cancel(id);
        sheet = null;
        refresh();
        return;
      }
      const busy = msg.code === "busy";
      mine.run.failedWith(msg.id, msg.message, busy);
      if (busy) { // the server is busy with others: wait a moment, then ask again
        mine.paused = true;
        setTimeout(() => { mine.paused = false; pumpSheet(); }, 1000);
      }
      sheetStep();
    },
  };
}

/** After a face: ask for more, or add the finished sheet to the drawing as one change. */
function sheetStep() {
  const { run, seen } = sheet;
  pumpSheet();
  if (!run.done) {
    sayProgress();
    view.update();
    refresh();
    return;
  }
  sheet = null;
  if (!run.character) {
    say("The model drew the first face without a character, so the sheet stopped: press " +
      "Character sheet again.", "error");
  } else {
    sketch.append(run.strokes());
    const where = run.cells.length === run.drawn ? "" : ` (${run.cells.length - run.drawn} ` +
      `failed: ${run.failed[0]?.[1] || "no answer"})`;
    const off = seen ? "" : " Part of it lies past the canvas's edge: export to see it all.";
    say(`Added a character sheet of ${run.drawn} faces${where}; Ctrl+Z takes it back.${off}`,
      "ok");
  }
  drawingChanged();
}

function stopSheet() {
  if (!sheet) return false;
  for (const id of sheet.run.stop()) client.cancel(id);
  sheet = null;
  say("Character sheet stopped; your drawing is as it was.", "ok");
  return true;
}

const actions = {
  suggest: () => ask("complete"),
  draw: () => ask("generate"),
  optimize: () => ask("refine"),
  trace: () => ui.image.click(),
  keep,
  forget: () => {
    kept.forget(model().name);
    say("Forgot the character: the pickers choose who is drawn again.", "ok");
  },
  sheet: startSheet,
  next: () => sketch.flip(1) && describe(),
  prev: () => sketch.flip(-1) && describe(),
  accept: () => {
    stopSuggestion();
    sketch.accept();
    say("Accepted. Draw on, or ask for more.", "ok");
    drawingChanged();
  },
  reject: () => {
    if (stopSheet()) return;
    stopSuggestion();
    sketch.reject();
    say("Rejected; your drawing is as it was.", "ok");
  },
  undo: () => {
    if (stopSheet()) return;
    stopSuggestion();
    sketch.undo();
    drawingChanged();
  },
  clear: () => {
    stopSheet();
    stopSuggestion();
    sketch.reject();
    sketch.clear();
    drawingChanged();
  },
  "export-svg": () => {
    const svg = toSvg(sketch.strokes, view.view());
    download(new Blob([svg], { type: "image/svg+xml" }), "sketch.svg");
  },
  "export-png": async () => download(await toPng(sketch.strokes, view.view()), "sketch.png"),
};

function press(name) {
  const b = buttons[name];
  if (!b || b.disabled) return;
  actions[name]();
  view.update();
  refresh();
}

for (const [name, b] of Object.entries(buttons)) b.addEventListener("click", () => press(name));

/** Enable exactly the controls that can act now. */
function refresh() {
  const m = client.state === "ready" ? model() : null;
  const offers = (mode) => Boolean(m?.modes.includes(mode));
  const has = sketch.strokes.length > 0;
  const s = sketch.suggestion;
  const free = !sheet; // while a sheet is drawn, its faces have the connection's requests
  const [columns, rows] = m ? sheetShape(m.conditions) : [1, 1];
  const enabled = {
    suggest: free && offers("complete") && has, draw: free && offers("generate"),
    optimize: free && offers("refine") && has,
    keep: free && Boolean(m?.characters && sketch.shownCharacter()),
    forget: free && Boolean(keptCharacter()),
    sheet: free && Boolean(m?.characters && offers("generate") && columns * rows > 1),
    next: Boolean(s && s.n > 1), prev: Boolean(s && s.n > 1),
    accept: Boolean(s && sketch.shownStrokes().length && (s.done || s.mode !== "refine")),
    reject: Boolean(s || sheet), undo: Boolean(s || sheet || sketch.history.length), clear: has,
    "export-svg": has, "export-png": has, trace: free && Boolean(m && client.welcome?.trace),
  };
  for (const [name, b] of Object.entries(buttons)) b.disabled = !enabled[name];
  ui.model.disabled = !m || !free;
  showKept();
  ui.strength.disabled = !offers("refine");
}

// --- settings, guide and keys ----------------------------------------------------------------

// Each control's range and default come from the server (wire.js), never from copies here.
for (const [input, range] of [[ui.variety, WIRE.temperature], [ui.alternatives, WIRE.n],
                              [ui.strength, WIRE.strength]]) {
  input.min = range.min;
  input.max = range.max;
  input.defaultValue = input.value = range.default;
}
for (const input of [ui.variety, ui.alternatives, ui.strength]) {
  const out = document.querySelector(`output[for="${input.id}"]`);
  const show = () => { out.textContent = input.value; };
  input.addEventListener("input", show);
  input.addEventListener("change", show);
  show();
}

const guide = new GuideFeed({
  ask: (strokes) => client.guide({ model: model()?.name, strokes, conditions: conditions(), k: WIRE.guideK }),
  show: (drawings) => {
    guideDrawings = drawings && drawings.map((d) => ({
      weight: d.weight, source: d.source,
      strokes: d.strokes.map((p) => makeStroke(p, null, "guide")),
    }));
    if (drawings && !drawings.length && !guideSaidEmpty) {
      guideSaidEmpty = true;
      say("The shadow guide found no drawings to show for this model.", "busy");
    }
    view.update();
  },
  problem: (error) => {
    if (error.code === "disconnected") return;
    if (error.code === "bad_request") {
      ui.guide.checked = false;
      guide.setEnabled(false);
      say(`This server has no shadow guide (it says: ${error.message}).`, "error");
    } else {
      say(`The shadow guide failed: ${error.message}`, "error");
    }
  },
});
ui.guide.addEventListener("change", () => {
  guideSaidEmpty = false;
  guide.setEnabled(ui.guide.checked, sketch.wire(), sketch.version);
});

function drawingChanged() {
  guide.changed(sketch.wire(), sketch.version);
  view.update();
  refresh();
}

const KEYS = { s: "suggest", d: "draw", o: "optimize", t: "trace", k: "keep", ArrowRight: "next",
  ArrowLeft: "prev", Enter: "accept", Escape: "reject", Delete: "clear" };

document.addEventListener("keydown", (e) => {
  const field = e.target.closest?.("input, select, textarea");
  if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "z" && !field) {
    e.preventDefault();
    press("undo");
    return;
  }
  if (field || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "Enter" && e.target.closest?.("button")) return; // Enter presses that button
  if (e.key.toLowerCase() === "g") {
    ui.guide.click();
    return;
  }
  const name = KEYS[e.key.length === 1 ? e.key.toLowerCase() : e.key];
  if (!name) return;
  e.preventDefault();
  press(name);
});

// --- start -----------------------------------------------------------------------------------

/** Read-only access for tests and the curious: every call returns a deep copy. */
window.sketcher = Object.freeze({
  strokes: () => sketch.snapshot(),
  suggestion: () => {
    const s = sketch.suggestion;
    return s && { id: s.id, mode: s.mode, n: s.n, shown: s.shown, done: s.done,
      cancelled: s.cancelled, sources: s.sources && s.sources.slice(),
      samples: s.samples.map((x) => x.filter(Boolean).map(copyStroke)) };
  },
  guide: () => guideDrawings && guideDrawings.map((g) => ({ weight: g.weight, source: g.source,
    strokes: g.strokes.map(copyStroke) })),
  models: () => structuredClone(client.welcome?.models ?? []),
  character: () => structuredClone(keptCharacter()),
  sheet: () => sheet && { cells: sheet.run.cells.map((c) => structuredClone(c)),
    drawn: sheet.run.drawn, open: sheet.run.open.size, character: sheet.run.character },
  state: () => client.state,
  status: () => ui.status.textContent,
  timing: () => ({ ...timing }),
});

refresh();
client.connect();
timing.ready = performance.now();
