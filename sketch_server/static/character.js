// Characters (docs/protocol.md, "Characters"): who a sample draws, kept per model in this
// browser, and the character sheet, which draws one person in every emotion and view. Pure: no
// DOM, no network; app.js wires it in. The sheet's layout mirrors wire/character.py, which the
// Krita and Blender add-ons use.

// The conditions a sheet varies, in its columns and rows; the rest are the character's own.
export const SHEET_COLUMNS = "emotion";
export const SHEET_ROWS = "view";
export const SHEET_GAP = 0.15; // of a cell's size, between cells
// The server's limit of open requests per connection (docs/protocol.md, Limits): a sheet sends
// no more than this at once, counting the page's other open requests.
export const OPEN_LIMIT = 4;
const MARGIN = 16; // document units between the drawing, the sheet and the canvas's edge
const MIN_CELL = 64; // the smallest face a sheet draws, in document units

/** A sheet's cells, row by row: a column per emotion and a row per view (from a model's
 * welcome `conditions`), each `cell` units square, the first at `origin`. A model without one
 * of them gets a single column or row. Each cell is {conditions, bounds: [x0, y0, x1, y1],
 * label}. */
export function sheetCells(conditions, origin = [0, 0], cell = 256) {
  if (!(cell > 0)) throw new RangeError(`a sheet cell must have a positive size, not ${cell}`);
  const columns = conditions[SHEET_COLUMNS]?.length ? conditions[SHEET_COLUMNS] : [""];
  const rows = conditions[SHEET_ROWS]?.length ? conditions[SHEET_ROWS] : [""];
  const step = cell * (1 + SHEET_GAP);
  const out = [];
  rows.forEach((row, r) => {
    columns.forEach((column, c) => {
      const x0 = origin[0] + c * step, y0 = origin[1] + r * step;
      const asked = {};
      if (column) asked[SHEET_COLUMNS] = column;
      if (row) asked[SHEET_ROWS] = row;
      out.push({ conditions: asked, bounds: [x0, y0, x0 + cell, y0 + cell],
        label: Object.values(asked).join(", ") });
    });
  });
  return out;
}

/** [columns, rows] of a model's sheet. */
export function sheetShape(conditions) {
  return [conditions[SHEET_COLUMNS]?.length || 1, conditions[SHEET_ROWS]?.length || 1];
}

/** Where a sheet goes: {origin, cell, seen}. Beside the drawing (its bounds, or null) or below
 * it, whichever gives bigger faces, centred in that free part of the view [0, 0, w, h]; an
 * empty drawing leaves the whole view. When no free part holds faces of MIN_CELL, the sheet
 * starts below the drawing with faces of MIN_CELL and runs past the view (`seen` false). */
export function sheetPlace(conditions, drawing, view) {
  const [columns, rows] = sheetShape(conditions);
  const wide = columns + (columns - 1) * SHEET_GAP, tall = rows + (rows - 1) * SHEET_GAP;
  const [, , w, h] = view;
  const areas = drawing
    ? [[drawing[2] + MARGIN, MARGIN, w - MARGIN, h - MARGIN], // beside
       [MARGIN, drawing[3] + MARGIN, w - MARGIN, h - MARGIN]] // below
    : [[MARGIN, MARGIN, w - MARGIN, h - MARGIN]];
  let best = null;
  for (const [x0, y0, x1, y1] of areas) {
    const cell = Math.min((x1 - x0) / wide, (y1 - y0) / tall);
    if (!best || cell > best.cell) {
      const left = x0 + (x1 - x0 - cell * wide) / 2, top = y0 + (y1 - y0 - cell * tall) / 2;
      best = { origin: [left, top], cell, seen: true };
    }
  }
  if (best.cell >= MIN_CELL) return best;
  const top = drawing ? drawing[3] + MARGIN : MARGIN;
  return { origin: [drawing ? Math.max(MARGIN, drawing[0]) : MARGIN, top], cell: MIN_CELL,
    seen: false };
}

/** The conditions a character was drawn under, {name: value}, read from its last numbers (the
 * model's condition vector c, one block a condition in the welcome's order: 1.0 for the value,
 * 0 for the rest; see model/character.py). A condition whose block is not that is left out, and
 * so is everything when the character is not the length this model's would be. */
export function characterConditions(character, conditions) {
  let bytes;
  try {
    bytes = Uint8Array.from(atob(character), (ch) => ch.charCodeAt(0));
  } catch {
    return {};
  }
  const names = Object.keys(conditions);
  const width = names.reduce((sum, name) => sum + conditions[name].length, 0);
  const halves = (bytes.length - 5) / 2; // a format byte and the model's 4-byte id first
  if (!Number.isInteger(halves) || halves <= width) return {};
  const half = (i) => bytes[5 + 2 * i] | (bytes[6 + 2 * i] << 8); // little-endian float16
  const ONE = 0x3c00;
  const found = {};
  let at = halves - width;
  for (const name of names) {
    const block = conditions[name].map((_, k) => half(at + k));
    at += block.length;
    const ones = block.filter((v) => v === ONE).length;
    if (ones === 1 && block.every((v) => v === ONE || v === 0)) {
      found[name] = conditions[name][block.indexOf(ONE)];
    }
  }
  return found;
}

/** The conditions that say who a character is: all but the sheet's (emotion and view, which
 * change only the look), and but those with a single value (the faces' one category). */
export function identityConditions(conditions) {
  return Object.keys(conditions).filter((name) => name !== SHEET_COLUMNS && name !== SHEET_ROWS
    && conditions[name].length !== 1);
}

/** A short note of who: "female, cartoon", from the character's own conditions. */
export function whoText(who, conditions) {
  const known = identityConditions(conditions).map((name) => who[name]).filter(Boolean);
  return known.length ? known.join(", ") : "a person of this model";
}

function localStore() {
  try {
    return globalThis.localStorage; // throws where the page has no origin of its own
  } catch {
    return null;
  }
}

/** The kept character of each model, in localStorage so that a reload keeps it:
 * {character, who: {condition: value}}. */
export class KeptCharacters {
  constructor(storage = localStore()) {
    this.storage = storage;
  }

  _key(model) {
    return `ai-sketcher-character:${model}`;
  }

  get(model) {
    try {
      const kept = JSON.parse(this.storage?.getItem(this._key(model)) ?? "null");
      return typeof kept?.character === "string" && kept.character ? kept : null;
    } catch {
      return null;
    }
  }

  keep(model, character, who) {
    this.storage?.setItem(this._key(model), JSON.stringify({ character, who }));
  }

  forget(model) {
    this.storage?.removeItem(this._key(model));
  }
}

/** One character sheet being drawn: hands its cells out to `send`, never more at once than
 * OPEN_LIMIT minus the other requests open on the connection, and keeps each face's strokes.
 * With no character, the first cell goes alone and its face's character draws the rest. */
export class SheetRun {
  constructor(cells, character) {
    this.cells = cells;
    this.character = character; // null until the first face gives one
    this.queue = cells.map((_, i) => i); // cells not yet asked for
    this.open = new Map(); // request id -> cell index
    this.faces = cells.map(() => null); // per cell: its strokes, once done
    this.failed = []; // [cell index, message] of faces the server refused
    this.stopped = false;
  }

  get done() {
    return this.queue.length === 0 && this.open.size === 0;
  }

  /** How many faces are in. */
  get drawn() {
    return this.faces.filter(Boolean).length;
  }

  /** Ask for the next cells: `openElsewhere` other requests are open on the connection;
   * `send(cell, character)` returns a request id, or null when it cannot send. */
  pump(openElsewhere, send) {
    while (!this.stopped && this.queue.length) {
      if (this.open.size + openElsewhere >= OPEN_LIMIT) return;
      if (!this.character && this.open.size) return; // wait for the first face's character
      const i = this.queue[0];
      const id = send(this.cells[i], this.character);
      if (id === null) return;
      this.queue.shift();
      this.open.set(id, i);
    }
  }

  /** A face is in: its strokes and its character; false when the request is not this sheet's. */
  finished(id, strokes, character) {
    const i = this.open.get(id);
    if (i === undefined) return false;
    this.open.delete(id);
    this.faces[i] = strokes;
    if (!this.character && character) this.character = character;
    if (!this.character) this.stop(); // no character to draw the rest with
    return true;
  }

  /** A face's request failed: `again` puts it back in the queue (the server was busy). */
  failedWith(id, message, again) {
    const i = this.open.get(id);
    if (i === undefined) return false;
    this.open.delete(id);
    if (again && !this.stopped) this.queue.unshift(i);
    else this.failed.push([i, message]);
    return true;
  }

  /** Stop asking; returns the ids still open, to cancel. */
  stop() {
    this.stopped = true;
    this.queue = [];
    return [...this.open.keys()];
  }

  /** Every face's strokes, in cell order (row by row). */
  strokes() {
    return this.faces.flatMap((f) => f || []);
  }
}
