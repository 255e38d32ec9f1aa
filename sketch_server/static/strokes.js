// The drawing as data, with no DOM and no network: the artist's strokes, the undo history and
// the suggestion on show. A stroke is {points: [[x, y], ...], pressure: [p, ...], by}, where x
// and y are document units (CSS pixels of the canvas, y down, as in docs/protocol.md), each
// pressure is 0..1 (one per point) and `by` is "artist" or "model". Strokes are frozen once
// made, so every list of them can share them; copies handed out are deep.

const MODEL_PRESSURE = 0.5; // what a suggested stroke is drawn with: a mouse's pressure

/** A frozen stroke; a single point becomes a dot [p, p] (the protocol needs two points). */
export function makeStroke(points, pressure, by = "artist") {
  const pts = points.length === 1 ? [points[0], points[0]] : points;
  const prs = pressure && pressure.length === points.length
    ? (points.length === 1 ? [pressure[0], pressure[0]] : pressure)
    : pts.map(() => MODEL_PRESSURE);
  return Object.freeze({
    points: Object.freeze(pts.map((p) => Object.freeze([p[0], p[1]]))),
    pressure: Object.freeze(prs.slice()),
    by,
  });
}

/** A plain, mutable deep copy of a stroke. */
export function copyStroke(s) {
  return { points: s.points.map((p) => [p[0], p[1]]), pressure: s.pressure.slice(), by: s.by };
}

/** The bounding box [x0, y0, x1, y1] of some strokes, or null for none. */
export function bounds(strokes) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const s of strokes) {
    for (const [x, y] of s.points) {
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
  }
  return x0 <= x1 ? [x0, y0, x1, y1] : null;
}

/** The drawing: strokes, undo history and at most one suggestion (what the model offered). */
export class Sketch {
  constructor() {
    this.strokes = []; // the document: artist strokes and accepted suggestions, in order
    this.history = []; // earlier `strokes` lists, for undo
    this.suggestion = null;
    this.version = 0; // counts changes to `strokes`, so late answers can tell they are stale
  }

  _change(next) {
    this.history.push(this.strokes);
    this.strokes = next;
    this.version += 1;
  }

  /** Add a finished stroke. */
  add(stroke) {
    this._change([...this.strokes, stroke]);
  }

  /** Add strokes after the others, as one change (one undo takes them all back). */
  append(strokes) {
    if (strokes.length) this._change([...this.strokes, ...strokes]);
  }

  /** Remove every stroke (undoable). */
  clear() {
    if (this.strokes.length) this._change([]);
  }

  /** Take back the suggestion on show, or else the last change to the strokes. */
  undo() {
    if (this.suggestion) {
      this.suggestion = null;
      return true;
    }
    if (!this.history.length) return false;
    this.strokes = this.history.pop();
    this.version += 1;
    return true;
  }

  /** The strokes as the protocol sends them: lists of [x, y]. */
  wire() {
    return this.strokes.map((s) => s.points.map((p) => [p[0], p[1]]));
  }

  /** A deep copy of the strokes, safe to hand out. */
  snapshot() {
    return this.strokes.map(copyStroke);
  }

  /** Open a new suggestion for request `id`, replacing any other. */
  suggest(id, mode, n) {
    this.suggestion = {
      id, mode, n, shown: 0, done: false, cancelled: false, sources: null, characters: null,
      samples: Array.from({ length: n }, () => []),
      given: this.strokes, // what the request was made from: refine replaces exactly these
    };
    return this.suggestion;
  }

  /** Place a streamed stroke; false if it is for a request no longer on show. */
  streamed(id, sample, index, points) {
    const s = this.suggestion;
    if (!s || s.id !== id || !(sample >= 0 && sample < s.n)) return false;
    s.samples[sample][index] = makeStroke(points, null, "model");
    return true;
  }

  /** The request's end: `done.samples` is the whole truth, `sources` where each came from,
   * `characters` who each draws ("" for none; docs/protocol.md, Characters). */
  finished(id, samples, sources, cancelled, characters = null) {
    const s = this.suggestion;
    if (!s || s.id !== id) return false;
    const made = (i) => (samples[i] || []).map((p) => makeStroke(p, null, "model"));
    s.samples = s.samples.map((_, i) => made(i));
    s.sources = Array.isArray(sources) ? sources.slice() : null;
    s.characters = Array.isArray(characters) ? characters.slice() : null;
    s.cancelled = Boolean(cancelled);
    s.done = true;
    return true;
  }

  /** The strokes of the alternative on show (only those streamed so far), or []. */
  shownStrokes() {
    const s = this.suggestion;
    return s ? s.samples[s.shown].filter(Boolean) : [];
  }

  /** The character of the alternative on show, or null when it has none. */
  shownCharacter() {
    const s = this.suggestion;
    return (s && s.done && s.characters?.[s.shown]) || null;
  }

  /** Show the next (+1) or previous (-1) alternative, wrapping around. */
  flip(step) {
    const s = this.suggestion;
    if (!s || s.n < 2) return false;
    s.shown = (s.shown + step + s.n) % s.n;
    return true;
  }

  /** Keep the alternative on show: added after the strokes, or for refine in place of the
   * strokes it was asked about (strokes drawn since stay). One undo takes it back. */
  accept() {
    const s = this.suggestion;
    if (!s) return false;
    const chosen = this.shownStrokes();
    this.suggestion = null;
    if (s.mode === "refine") {
      const given = new Set(s.given);
      const at = this.strokes.findIndex((st) => given.has(st));
      const kept = this.strokes.filter((st) => !given.has(st));
      const i = at < 0 ? kept.length : at;
      this._change([...kept.slice(0, i), ...chosen, ...kept.slice(i)]);
    } else if (chosen.length) {
      this._change([...this.strokes, ...chosen]);
    }
    return true;
  }

  /** Drop the suggestion; the strokes stay as they are. */
  reject() {
    const had = Boolean(this.suggestion);
    this.suggestion = null;
    return had;
  }
}
