// The shadow guide's timing: after each change to the drawing (debounced), ask for guide
// drawings, with at most one question in flight; an answer about a drawing that has changed
// since is dropped, and the newest drawing is asked about once the answer is in.

export class GuideFeed {
  /**
   * ask(strokes) -> Promise of the `guide` reply; show(drawings) paints them (null clears);
   * problem(error) is told about an `error` reply.
   */
  constructor({ ask, show, problem, delay = 350 }) {
    this.ask = ask;
    this.show = show;
    this.problem = problem;
    this.delay = delay;
    this.enabled = false;
    this.timer = null;
    this.inFlight = false;
    this.pending = null; // [strokes, version] still to ask about
    this.version = -1; // the drawing's latest version
  }

  /** Turn the guide on or off; off clears what it shows. */
  setEnabled(on, strokes, version) {
    this.enabled = on;
    clearTimeout(this.timer);
    if (on) this.changed(strokes, version, 0);
    else {
      this.pending = null;
      this.show(null);
    }
  }

  /** The drawing changed: ask about it after `delay` ms of calm. */
  changed(strokes, version, delay = this.delay) {
    this.version = version;
    if (!this.enabled) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._fire(strokes, version), delay);
  }

  _fire(strokes, version) {
    if (!strokes.length) {
      this.show(null); // nothing drawn, nothing to guide
      return;
    }
    if (this.inFlight) {
      this.pending = [strokes, version];
      return;
    }
    this.inFlight = true;
    this.ask(strokes)
      .then((reply) => {
        if (this.enabled && version === this.version) this.show(reply.drawings || []);
      })
      .catch((error) => {
        if (this.enabled) this.problem(error);
      })
      .finally(() => {
        this.inFlight = false;
        const next = this.pending;
        this.pending = null;
        if (next && this.enabled) this._fire(...next);
      });
  }
}
