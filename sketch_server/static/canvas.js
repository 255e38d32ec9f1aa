// The canvas: turns Pointer Events (mouse, touch, pen) into strokes and paints a scene. It knows
// strokes only as {points, pressure}; what they mean is the app's business.

export const INK = "#1d1d1f";
export const SUGGESTION = "#1f6fe0";
export const GUIDE = "#7a8290";
const BASE_WIDTH = 2.6; // line width in CSS pixels at pressure 0.5

/** Line width for a pressure in 0..1: pressure is shown as width. */
export function widthFor(pressure) {
  return BASE_WIDTH * (0.3 + 1.4 * pressure);
}

function round2(v) {
  return Math.round(v * 100) / 100;
}

/** Paint one stroke; a varying pressure is drawn segment by segment. */
export function paintStroke(ctx, stroke, color, alpha = 1) {
  const { points, pressure } = stroke;
  if (points.length < 2) return;
  ctx.globalAlpha = alpha;
  ctx.strokeStyle = color;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  const even = pressure.every((p) => p === pressure[0]);
  if (even) {
    ctx.lineWidth = widthFor(pressure[0]);
    ctx.beginPath();
    ctx.moveTo(points[0][0], points[0][1]);
    for (let i = 1; i < points.length; i++) ctx.lineTo(points[i][0], points[i][1]);
    ctx.stroke();
  } else {
    for (let i = 1; i < points.length; i++) {
      ctx.lineWidth = widthFor((pressure[i - 1] + pressure[i]) / 2);
      ctx.beginPath();
      ctx.moveTo(points[i - 1][0], points[i - 1][1]);
      ctx.lineTo(points[i][0], points[i][1]);
      ctx.stroke();
    }
  }
  ctx.globalAlpha = 1;
}

/** Paint a whole scene: guide drawings faintly, then the strokes, then the suggestion. */
export function paintScene(ctx, scene) {
  for (const g of scene.guide || []) {
    const alpha = 0.08 + 0.3 * Math.max(0, Math.min(1, Number(g.weight) || 0));
    for (const s of g.strokes) paintStroke(ctx, s, GUIDE, alpha);
  }
  for (const s of scene.strokes) paintStroke(ctx, s, INK);
  for (const s of scene.suggestion || []) paintStroke(ctx, s, SUGGESTION);
  if (scene.live) paintStroke(ctx, scene.live, INK);
}

/** A canvas the artist draws on; calls onStroke({points, pressure}) when a stroke ends. */
export class CanvasView {
  constructor(canvas, { onStroke, scene }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onStroke = onStroke;
    this.scene = scene; // () => {strokes, suggestion, guide}
    this.live = null; // the stroke being drawn: {pointerId, points, pressure}
    this.queued = false;
    for (const type of ["pointerdown", "pointermove", "pointerup", "pointercancel"]) {
      canvas.addEventListener(type, (e) => this[type](e));
    }
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  /** Size the backing store to the element at the device's pixel ratio, then repaint. */
  resize() {
    const ratio = window.devicePixelRatio || 1;
    const { width, height } = this.canvas.getBoundingClientRect();
    this.canvas.width = Math.max(1, Math.round(width * ratio));
    this.canvas.height = Math.max(1, Math.round(height * ratio));
    this.paint();
  }

  /** The visible area in document units: [0, 0, width, height]. */
  view() {
    const { width, height } = this.canvas.getBoundingClientRect();
    return [0, 0, width, height];
  }

  /** Repaint on the next frame (many calls in one frame paint once). */
  update() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      this.paint();
    });
  }

  paint() {
    const ratio = this.canvas.width / Math.max(1, this.canvas.getBoundingClientRect().width);
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    paintScene(ctx, { ...this.scene(), live: this.live });
  }

  _point(e) {
    const r = this.canvas.getBoundingClientRect();
    // A mouse reports 0.5 while a button is down; touch screens without pressure report 0 or 1.
    const p = e.pointerType === "pen" || (e.pressure > 0 && e.pressure < 1) ? e.pressure : 0.5;
    return [[round2(e.clientX - r.left), round2(e.clientY - r.top)], round2(p)];
  }

  _add(e) {
    const [point, p] = this._point(e);
    const last = this.live.points[this.live.points.length - 1];
    if (last && last[0] === point[0] && last[1] === point[1]) return;
    this.live.points.push(point);
    this.live.pressure.push(p);
  }

  pointerdown(e) {
    if (this.live || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.live = { pointerId: e.pointerId, points: [], pressure: [] };
    this._add(e);
    this.update();
  }

  pointermove(e) {
    if (!this.live || e.pointerId !== this.live.pointerId) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const c of events.length ? events : [e]) this._add(c);
    this.update();
  }

  pointerup(e) {
    if (!this.live || e.pointerId !== this.live.pointerId) return;
    const { points, pressure } = this.live;
    this.live = null;
    this.onStroke({ points, pressure });
    this.update();
  }

  pointercancel(e) {
    if (this.live && e.pointerId === this.live.pointerId) {
      this.live = null;
      this.update();
    }
  }
}
