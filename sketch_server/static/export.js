// Export the drawing as SVG (one path per stroke, in document units) or PNG (painted at twice
// the size on white). Only the strokes are exported, never a suggestion that was not accepted.

import { INK, paintScene, widthFor } from "./canvas.js";
import { bounds } from "./strokes.js";

const MARGIN = 16; // document units around the strokes

function num(v) {
  return String(Math.round(v * 100) / 100);
}

/** The area to export: the strokes' bounds plus a margin, or `view` when there are none. */
export function exportBox(strokes, view) {
  const b = bounds(strokes);
  if (!b) return view;
  return [b[0] - MARGIN, b[1] - MARGIN, b[2] + MARGIN, b[3] + MARGIN];
}

/** The strokes as an SVG document; each path's d is "M x y L x y ..." in document units. */
export function toSvg(strokes, view) {
  const [x0, y0, x1, y1] = exportBox(strokes, view);
  const w = num(x1 - x0), h = num(y1 - y0);
  const paths = strokes.map((s) => {
    const d = s.points.map((p, i) => `${i ? "L" : "M"}${num(p[0])} ${num(p[1])}`).join(" ");
    const mean = s.pressure.reduce((a, b) => a + b, 0) / s.pressure.length;
    return `  <path data-by="${s.by}" stroke-width="${num(widthFor(mean))}" d="${d}"/>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" ` +
      `viewBox="${num(x0)} ${num(y0)} ${w} ${h}">`,
    `<g fill="none" stroke="${INK}" stroke-linecap="round" stroke-linejoin="round">`,
    ...paths,
    "</g>",
    "</svg>",
    "",
  ].join("\n");
}

/** The strokes painted on white at `scale` times their size, as a PNG Blob. */
export function toPng(strokes, view, scale = 2) {
  const [x0, y0, x1, y1] = exportBox(strokes, view);
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.ceil((x1 - x0) * scale));
  canvas.height = Math.max(1, Math.ceil((y1 - y0) * scale));
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(scale, 0, 0, scale, -x0 * scale, -y0 * scale);
  paintScene(ctx, { strokes });
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

/** Hand a Blob to the browser as a download called `name`. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
