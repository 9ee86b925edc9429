// actviz explore: draws the numbers torch computed (stored in this page) on canvases.
// No library, no network: everything below works from file:// and offline.
(() => {
  "use strict";
  // The root this script belongs to: its parent (a notebook may hold several explorers).
  const here = document.currentScript;
  const root = (here && here.closest(".actviz-explore")) ||
    [...document.querySelectorAll(".actviz-explore:not([data-started])")].pop();
  if (!root || root.dataset.started) return;
  root.dataset.started = "1";
  const $ = (selector) => root.querySelector(selector);
  const make = (tag, props = {}, children = []) => {
    const node = Object.assign(document.createElement(tag), props);
    for (const child of children) node.append(child);
    return node;
  };

  // --- the one number format: a port of actviz/display.py (number, coord) and of
  // actviz/plotting.py (format_ticks), exact to the digit: Python's formatting rounds
  // the exact binary value half to even, and so does this (BigInt decimal expansion).
  const F64 = new Float64Array(1);
  const U64 = new BigUint64Array(F64.buffer);
  const F32 = new Float32Array(1);
  const U32 = new Uint32Array(F32.buffer);

  // |v| (finite, not 0) = BigInt(digits) × 10^exponent, exactly.
  function exactDecimal(v) {
    F64[0] = Math.abs(v);
    const bits = U64[0];
    const biased = Number((bits >> 52n) & 0x7ffn);
    let mantissa = bits & 0xfffffffffffffn;
    let exponent = -1074;
    if (biased !== 0) {
      mantissa |= 1n << 52n;
      exponent = biased - 1075;
    }
    if (exponent >= 0) return [(mantissa << BigInt(exponent)).toString(), 0];
    return [(mantissa * 5n ** BigInt(-exponent)).toString(), exponent];
  }

  // round(digits × 10^exponent / 10^k), half to even: the count of 10^k.
  function roundAt(digits, exponent, k) {
    const drop = k - exponent;
    if (drop <= 0) return BigInt(digits) * 10n ** BigInt(-drop);
    if (drop > digits.length) return 0n;
    const keep = digits.length - drop;
    const head = keep > 0 ? BigInt(digits.slice(0, keep)) : 0n;
    const rest = digits.slice(keep);
    const first = rest.charCodeAt(0) - 48;
    let up = first > 5;
    if (first === 5) up = /[1-9]/.test(rest.slice(1)) || head % 2n === 1n;
    return up ? head + 1n : head;
  }

  const stripZeros = (text) => (text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text);

  // Python's f"{v:.{p}g}"
  function formatG(v, p) {
    if (v === 0) return Object.is(v, -0) ? "-0" : "0";
    const [digits, exponent] = exactDecimal(v);
    let x = digits.length - 1 + exponent;
    let count = roundAt(digits, exponent, x - p + 1);
    if (count.toString().length > p) {
      x += 1;
      count = roundAt(digits, exponent, x - p + 1);
    }
    const s = count.toString();
    let out;
    if (x >= -4 && x < p) {
      const decimals = p - 1 - x;
      if (decimals > 0) {
        const padded = s.padStart(decimals + 1, "0");
        out = stripZeros(`${padded.slice(0, -decimals)}.${padded.slice(-decimals)}`);
      } else {
        out = s + "0".repeat(-decimals);
      }
    } else {
      const mantissa = stripZeros(s.length > 1 ? `${s[0]}.${s.slice(1)}` : s);
      out = `${mantissa}e${x < 0 ? "-" : "+"}${String(Math.abs(x)).padStart(2, "0")}`;
    }
    return (v < 0 ? "-" : "") + out;
  }

  // Python's round(v, d) (a float) and f"{v:.{d}f}"
  function pyRound(v, d) {
    if (v === 0 || !Number.isFinite(v)) return v;
    const [digits, exponent] = exactDecimal(v);
    const count = roundAt(digits, exponent, -d);
    if (count === 0n) return v < 0 ? -0 : 0;
    return (v < 0 ? -1 : 1) * Number(`${count}e${-d}`);
  }
  function formatF(v, d) {
    let s = "0";
    if (v !== 0) {
      const [digits, exponent] = exactDecimal(v);
      s = roundAt(digits, exponent, -d).toString();
    }
    const padded = s.padStart(d + 1, "0");
    const body = d > 0 ? `${padded.slice(0, -d)}.${padded.slice(-d)}` : padded;
    return (v < 0 || Object.is(v, -0) ? "-" : "") + body;
  }

  // A value rounded to a dtype and back (display._in_dtype).
  function inDtype(v, dtype) {
    if (dtype === "float32") return Math.fround(v);
    if (dtype === "bfloat16") {
      F32[0] = v;
      const bits = U32[0];
      U32[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000) >>> 0;
      return F32[0];
    }
    if (dtype === "float16") return toHalf(v);
    return v;
  }
  function toHalf(v) {
    if (!Number.isFinite(v) || v === 0) return v;
    const a = Math.abs(v);
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e -= 1;
    if (2 ** (e + 1) <= a) e += 1;
    const quantum = 2 ** (Math.max(e, -14) - 10);
    const n = a / quantum;
    const low = Math.floor(n);
    const rest = n - low;
    const r = rest > 0.5 || (rest === 0.5 && low % 2 === 1) ? low + 1 : low;
    const rounded = r * quantum;
    return Math.sign(v) * (rounded > 65504 ? Infinity : rounded);
  }

  const tidy = (text) => text.replace("e+0", "e+").replace("e-0", "e-");
  const MISSING = "—";

  function significant(text) {
    const mantissa = text.replace(/^-/, "").split("e")[0].replace(".", "").replace(/^0+/, "");
    return Math.max(mantissa.length, 1);
  }

  // display.number: 4 significant digits, or as many as show that a value is not exact.
  function number(value, dtype = "float64") {
    if (value === null || value === undefined) return MISSING;
    if (value === 0) return Object.is(value, -0) ? "-0" : "0";
    if (Number.isNaN(value)) return "nan";
    if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
    for (let precision = 4; ; precision += 1) {
      const text = formatG(value, precision);
      const exact = inDtype(Number(text), dtype) === value;
      if (exact || significant(text) >= precision || precision >= 17) return tidy(text);
    }
  }

  // display.coord: an x position, 0 up to the grid's rounding.
  function coord(x, span) {
    if (x === null || x === undefined) return MISSING;
    if (Math.abs(x) < 1e-6 * span) return "0";
    return tidy(formatG(x, 4));
  }

  // plotting.format_ticks: the shortest common format that tells the ticks apart.
  function formatTicks(values) {
    const finite = values.filter(Number.isFinite);
    const big = finite.length ? Math.max(...finite.map(Math.abs)) : 0;
    if (big === 0) return values.map(() => "0");
    const scale = big >= 1e-3 && big < 1e5 ? 0 : Math.floor(Math.log10(big));
    const unit = 10.0 ** scale;
    const scaled = values.map((v) => v / unit);
    const top = big / unit;
    let spacing = Infinity;
    for (let i = 1; i < scaled.length; i += 1) {
      if (scaled[i] !== scaled[i - 1]) spacing = Math.min(spacing, Math.abs(scaled[i] - scaled[i - 1]));
    }
    if (spacing === Infinity) spacing = top;
    const tolerance = Math.min(1e-6 * top, 1e-3 * spacing);
    let decimals = 15;
    for (let d = 0; d < 16; d += 1) {
      if (scaled.every((v) => Math.abs(pyRound(v, d) - v) <= tolerance)) {
        decimals = d;
        break;
      }
    }
    return scaled.map((v) => {
      let text = formatF(pyRound(v, decimals) + 0.0, decimals);
      if (scale && Number(text) !== 0) text += `e${scale}`;
      return text.replaceAll("-", "\u2212");
    });
  }

  // --- the numbers ------------------------------------------------------------------
  async function decode() {
    const text = $("script.ax-data").textContent.trim();
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const data = new Uint8Array(await new Response(stream).arrayBuffer());
    const length = new DataView(data.buffer).getUint32(0, true);
    const manifest = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + length)));
    const count = manifest.floats;
    // float32 samples stored as byte planes (byte 0 of every sample, then byte 1, ...),
    // little-endian: put each sample's four bytes back together.
    const floats = new Float32Array(count);
    const out = new Uint8Array(floats.buffer);
    const start = 4 + length;
    for (let plane = 0; plane < 4; plane += 1) {
      const from = data.subarray(start + plane * count, start + (plane + 1) * count);
      for (let i = 0; i < count; i += 1) out[4 * i + plane] = from[i];
    }
    const codes = data.slice(start + 4 * count, start + 4 * count + manifest.codes);
    return { manifest, floats, codes };
  }

  // --- state -----------------------------------------------------------------------
  const FIELDS = [
    { key: "y", title: "value f(x)", symbol: "f(x)" },
    { key: "g", title: "gradient f′(x) from backward(ones_like(y))", symbol: "f′(x)" },
    { key: "g2", title: "second derivative f″(x)", symbol: "f″(x)" },
  ];
  const DTYPE_SHORT = { float32: "float32", bfloat16: "bfloat16", float16: "float16" };
  let M; // manifest
  let FLOATS;
  let CODES;
  const state = { selected: [], positions: [], dtype: "", shade: -1, view: [0, 1], hover: null };
  const panels = [];
  const drawn = { curves: [], edges: [], shaded: null, view: null, dtype: null, hover: [] };

  function currentCurve(i) {
    const a = M.activations[i];
    return a.curves[`${state.positions[i].join(",")}|${state.dtype}`];
  }
  const slice = (c, key) => (c[key] === null || c[key] === undefined ? null
    : FLOATS.subarray(c[key], c[key] + c.n));

  function colours() {
    const style = getComputedStyle(root);
    const get = (name) => style.getPropertyValue(name).trim();
    const dark = get("color-scheme") === "dark";
    return {
      dark,
      panel: get("--ax-panel"), text: get("--ax-text"), muted: get("--ax-muted"),
      grid: get("--ax-grid"), axis: get("--ax-axis"),
      regimes: M.regimeStyle[dark ? "dark" : "light"],
    };
  }

  // --- controls ----------------------------------------------------------------------
  function buildControls() {
    const list = $(".ax-list");
    M.activations.forEach((a, i) => {
      const box = make("input", { type: "checkbox", value: String(i), checked: state.selected.includes(i) });
      box.addEventListener("change", () => {
        state.selected = M.activations.map((_, j) => j)
          .filter((j) => list.querySelector(`input[value="${j}"]`).checked);
        if (!state.selected.includes(state.shade)) state.shade = state.selected[0] ?? -1;
        refresh();
      });
      const swatch = make("span", { className: "ax-swatch" });
      swatch.dataset.index = String(i);
      list.append(make("label", { title: a.formula }, [box, swatch, a.label]));
    });
    const dtypes = $(".ax-dtypes");
    for (const d of M.dtypes) {
      const radio = make("input", { type: "radio", name: "dtype", value: d, checked: d === state.dtype });
      radio.addEventListener("change", () => { state.dtype = d; refresh(); });
      dtypes.append(make("label", {}, [radio, ` ${DTYPE_SHORT[d] || d}`]));
    }
    for (const button of root.querySelectorAll(".ax-tools button")) {
      button.addEventListener("click", () => {
        const act = button.dataset.act;
        if (act === "reset") resetView();
        else zoom(act === "in" ? 0.5 : 2, (state.view[0] + state.view[1]) / 2);
      });
    }
    const theme = $(".ax-theme");
    theme.value = root.dataset.theme || "auto";
    theme.addEventListener("change", () => { root.dataset.theme = theme.value; draw(); });
    if (window.matchMedia) {
      window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => draw());
    }
    const holder = $(".ax-panels");
    for (const field of FIELDS) {
      const canvas = make("canvas", { tabIndex: 0 });
      canvas.setAttribute("aria-label", `${field.title}; arrow keys pan, + and − zoom, 0 resets`);
      const figure = make("figure", { className: `ax-panel ax-${field.key}` },
        [make("figcaption", { textContent: field.title }), canvas]);
      figure.dataset.field = field.key;
      holder.append(figure);
      panels.push({ field, figure, canvas, box: null, y: [0, 1] });
      bindPanel(canvas);
    }
    new ResizeObserver(() => draw()).observe(holder);
  }

  function buildSliders() {
    const holder = $(".ax-sliders");
    holder.replaceChildren();
    for (const i of state.selected) {
      const a = M.activations[i];
      if (!a.sliders.length) continue;
      const swatch = make("span", { className: "ax-swatch" });
      swatch.style.background = a.colour;
      const set = make("fieldset", {}, [make("legend", {}, [swatch, a.label])]);
      set.dataset.activation = a.name;
      a.sliders.forEach((s, k) => {
        const output = make("output", { textContent: s.values[state.positions[i][k]] });
        const input = make("input", {
          type: "range", min: "0", max: String(s.values.length - 1), step: "1",
          value: String(state.positions[i][k]),
        });
        input.dataset.param = s.name;
        input.setAttribute("aria-label", `${a.name} ${s.name}`);
        input.addEventListener("input", () => {
          state.positions[i][k] = Number(input.value);
          output.textContent = s.values[state.positions[i][k]];
          refresh(false);
        });
        set.append(make("div", { className: "ax-slider" }, [make("span", { textContent: s.name }), input, output]));
        set.append(make("p", {
          className: "ax-note",
          textContent: `snaps to the ${s.values.length} precomputed values: ${s.values.join(", ")}`,
        }));
      });
      holder.append(set);
    }
  }

  function buildLegend() {
    const holder = $(".ax-legend");
    holder.replaceChildren();
    const c = colours();
    for (const i of state.selected) {
      const a = M.activations[i];
      const radio = make("input", { type: "radio", name: "shade", checked: i === state.shade,
        title: "shade this activation's regimes" });
      radio.addEventListener("change", () => { state.shade = i; refresh(false); });
      const swatch = make("span", { className: "ax-swatch" });
      swatch.style.background = a.colour;
      holder.append(make("label", {}, [radio, swatch, currentCurve(i).label]));
    }
    const shaded = state.shade >= 0 ? M.activations[state.shade].name : "none";
    const parts = ["dead", "saturated", "linear"].map((r) => {
      const box = make("span", { className: "ax-shade" });
      box.style.background = c.regimes[r][0];
      box.style.opacity = String(Math.min(1, c.regimes[r][2] * 2.5));
      return make("span", {}, [box, `${r} (${c.regimes[r][1]})`]);
    });
    holder.append(make("span", { className: "ax-note" }, [
      `shaded, for ${shaded} (the checked one): `, ...parts.flatMap((p) => [p, " "]),
      `hatched: dead only because ${state.dtype} rounds f′ to 0; dashed: the underflow edges; dot: peak |f′|`,
    ]));
  }

  function buildFacts() {
    const holder = $(".ax-facts");
    holder.replaceChildren();
    for (const i of state.selected) {
      const a = M.activations[i];
      const c = currentCurve(i);
      const swatch = make("span", { className: "ax-swatch" });
      swatch.style.background = a.colour;
      const section = make("section", {}, [
        make("h3", {}, [swatch, `${c.label}, ${c.dtype}`]),
        make("p", {}, [make("code", { textContent: `f(x) = ${a.formula}` })]),
        make("p", {}, [make("code", { textContent: `f′(x) = ${c.derivative ?? a.derivative}` })]),
      ]);
      section.dataset.activation = a.name;
      if (c.refused) {
        section.append(make("p", { className: "ax-refused", textContent: `no curve here: ${c.refused}` }));
      } else {
        const list = make("dl");
        for (const [what, value] of c.facts) {
          list.append(make("dt", { textContent: what }), make("dd", { textContent: value }));
        }
        section.append(list);
      }
      if (a.notes) section.append(make("p", { className: "ax-note", textContent: a.notes }));
      holder.append(section);
    }
  }

  // The k-th activation drawn gets the palette's k-th colour (distinct up to ten).
  function assignColours() {
    state.selected.forEach((i, k) => { M.activations[i].colour = M.palette[k % M.palette.length]; });
    for (const swatch of root.querySelectorAll(".ax-list .ax-swatch")) {
      const i = Number(swatch.dataset.index);
      swatch.style.background = state.selected.includes(i) ? M.activations[i].colour : "transparent";
    }
  }

  function refresh(rebuild = true) {
    assignColours();
    if (rebuild) buildSliders();
    buildLegend();
    buildFacts();
    draw();
  }

  // --- view ---------------------------------------------------------------------------
  const clampView = ([a, b]) => {
    const [lo, hi] = M.range;
    let width = Math.min(Math.max(b - a, (hi - lo) * 1e-6), hi - lo);
    let start = Math.min(Math.max(a, lo), hi - width);
    return [start, start + width];
  };
  function zoom(factor, about) {
    const [a, b] = state.view;
    state.view = clampView([about - (about - a) * factor, about + (b - about) * factor]);
    draw();
  }
  function resetView() { state.view = M.view.slice(); draw(); }

  function bindPanel(canvas) {
    let dragging = null;
    const toX = (event) => {
      const p = panels.find((q) => q.canvas === canvas);
      const r = canvas.getBoundingClientRect();
      const px = event.clientX - r.left;
      const { left, width } = p.box;
      return state.view[0] + ((px - left) / width) * (state.view[1] - state.view[0]);
    };
    canvas.addEventListener("wheel", (event) => {
      event.preventDefault();
      zoom(Math.exp(Math.max(-1, Math.min(1, event.deltaY * 0.0015))), toX(event));
    }, { passive: false });
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      dragging = { x: event.clientX, view: state.view.slice() };
    });
    canvas.addEventListener("pointermove", (event) => {
      if (dragging) {
        const p = panels.find((q) => q.canvas === canvas);
        const dx = ((event.clientX - dragging.x) / p.box.width) * (dragging.view[1] - dragging.view[0]);
        state.view = clampView([dragging.view[0] - dx, dragging.view[1] - dx]);
      }
      state.hover = { x: toX(event), panel: canvas, clientX: event.clientX, clientY: event.clientY };
      draw();
    });
    const stop = () => { dragging = null; };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", () => { if (!dragging) { state.hover = null; draw(); } });
    canvas.addEventListener("dblclick", resetView);
    canvas.addEventListener("keydown", (event) => {
      const width = state.view[1] - state.view[0];
      const centre = (state.view[0] + state.view[1]) / 2;
      const moves = { ArrowLeft: -0.1, ArrowRight: 0.1 };
      if (event.key in moves) {
        state.view = clampView([state.view[0] + moves[event.key] * width, state.view[1] + moves[event.key] * width]);
        draw();
      } else if (event.key === "+" || event.key === "=") zoom(0.5, centre);
      else if (event.key === "-") zoom(2, centre);
      else if (event.key === "0") resetView();
      else return;
      event.preventDefault();
    });
  }

  // --- drawing ------------------------------------------------------------------------
  function niceTicks(lo, hi, most) {
    const raw = (hi - lo) / Math.max(1, most);
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((s) => s * magnitude).find((s) => s >= raw) || 10 * magnitude;
    const ticks = [];
    for (let k = Math.ceil(lo / step); k * step <= hi + step * 1e-9; k += 1) ticks.push(k * step);
    return ticks;
  }

  function lowerBound(x, value) {
    let lo = 0;
    let hi = x.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x[mid] < value) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function nearest(x, value) {
    const i = lowerBound(x, value);
    if (i <= 0) return 0;
    if (i >= x.length) return x.length - 1;
    return value - x[i - 1] <= x[i] - value ? i - 1 : i;
  }

  function yRange(key, curves) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const { c } of curves) {
      const x = slice(c, "x");
      const v = slice(c, key);
      if (!v) continue;
      const a = Math.max(0, lowerBound(x, state.view[0]) - 1);
      const b = Math.min(x.length, lowerBound(x, state.view[1]) + 1);
      for (let i = a; i < b; i += 1) {
        if (Number.isFinite(v[i])) { lo = Math.min(lo, v[i]); hi = Math.max(hi, v[i]); }
      }
    }
    if (lo === Infinity) return [-1, 1];
    if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
      const pad = Math.abs(hi) * 0.1 || 1;
      return [lo - pad, hi + pad];
    }
    const pad = (hi - lo) * 0.06;
    return [lo - pad, hi + pad];
  }

  let pending = false;
  function draw() {
    if (pending || !M) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; paint(); });
  }

  function hatch(ctx, colour) {
    const tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    const t = tile.getContext("2d");
    t.strokeStyle = colour;
    t.lineWidth = 1;
    t.beginPath();
    t.moveTo(0, 8); t.lineTo(8, 0);
    t.moveTo(-2, 2); t.lineTo(2, -2);
    t.moveTo(6, 10); t.lineTo(10, 6);
    t.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  function paint() {
    const c = colours();
    const curves = state.selected.map((i) => ({ i, a: M.activations[i], c: currentCurve(i) }));
    const live = curves.filter(({ c: k }) => !k.refused);
    const second = live.some(({ c: k }) => k.g2 !== null && k.g2 !== undefined);
    drawn.curves = curves.map(({ a, c: k }) => ({ name: a.name, label: k.label, dtype: k.dtype, curve: k }));
    drawn.view = state.view.slice();
    drawn.dtype = state.dtype;
    drawn.shaded = state.shade >= 0 ? M.activations[state.shade].name : null;
    drawn.edges = [];
    drawn.hover = [];
    for (const p of panels) {
      const visible = p.field.key !== "g2" || second;
      p.figure.hidden = !visible;
      if (!visible) continue;
      paintPanel(p, c, live);
    }
    paintHover(c, live);
    if (!root.dataset.ready) {
      root.dataset.ready = "1";
      api.readyMs = performance.now();
    }
  }

  function paintPanel(p, c, live) {
    const canvas = p.canvas;
    const ratio = window.devicePixelRatio || 1;
    const cssWidth = canvas.clientWidth;
    const cssHeight = canvas.clientHeight;
    if (!cssWidth || !cssHeight) return;
    if (canvas.width !== Math.round(cssWidth * ratio) || canvas.height !== Math.round(cssHeight * ratio)) {
      canvas.width = Math.round(cssWidth * ratio);
      canvas.height = Math.round(cssHeight * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, cssWidth, cssHeight);
    ctx.font = "12px system-ui, sans-serif";
    const key = p.field.key;
    const withKey = live.filter(({ c: k }) => slice(k, key));
    const [y0, y1] = yRange(key, withKey);
    const yTicks = niceTicks(y0, y1, Math.max(2, Math.floor(cssHeight / 45)));
    const yLabels = formatTicks(yTicks);
    const left = 10 + Math.max(...yLabels.map((t) => ctx.measureText(t).width), 10);
    const box = { left, top: 8, width: cssWidth - left - 12, height: cssHeight - 8 - 26 };
    p.box = box;
    p.y = [y0, y1];
    const [x0, x1] = state.view;
    const sx = (x) => box.left + ((x - x0) / (x1 - x0)) * box.width;
    const sy = (y) => box.top + (1 - (y - y0) / (y1 - y0)) * box.height;

    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.width, box.height);
    ctx.clip();
    // regimes of the checked activation, behind everything
    const shaded = live.find(({ i }) => i === state.shade);
    if (shaded) {
      for (const regime of ["dead", "rounded", "saturated", "linear"]) {
        const spans = shaded.c.shade[regime];
        if (!spans) continue;
        const [colour, , alpha] = c.regimes[regime === "rounded" ? "dead" : regime];
        ctx.globalAlpha = alpha;
        ctx.fillStyle = regime === "rounded" ? hatch(ctx, colour) : colour;
        for (const [a, b] of spans) {
          if (b < x0 || a > x1) continue;
          const from = sx(a);
          ctx.fillRect(from, box.top, Math.max(sx(b) - from, 1.5), box.height);
        }
        ctx.globalAlpha = 1;
      }
    }
    // grid
    ctx.strokeStyle = c.grid;
    ctx.lineWidth = 1;
    const xTicks = niceTicks(x0, x1, Math.max(2, Math.floor(box.width / 80)));
    ctx.beginPath();
    for (const t of xTicks) { ctx.moveTo(Math.round(sx(t)) + 0.5, box.top); ctx.lineTo(Math.round(sx(t)) + 0.5, box.top + box.height); }
    for (const t of yTicks) { ctx.moveTo(box.left, Math.round(sy(t)) + 0.5); ctx.lineTo(box.left + box.width, Math.round(sy(t)) + 0.5); }
    ctx.stroke();
    ctx.strokeStyle = c.axis;
    ctx.beginPath();
    if (y0 < 0 && y1 > 0) { ctx.moveTo(box.left, sy(0)); ctx.lineTo(box.left + box.width, sy(0)); }
    if (x0 < 0 && x1 > 0) { ctx.moveTo(sx(0), box.top); ctx.lineTo(sx(0), box.top + box.height); }
    ctx.stroke();
    // underflow edges: dashed, in the activation's colour
    ctx.setLineDash([6, 4]);
    for (const { a, c: k } of live) {
      k.edges.forEach((edge, side) => {
        if (edge === null) return;
        const at = side === 0 ? -edge : edge;
        if (key === "g") drawn.edges.push({ name: a.name, dtype: k.dtype, side: side ? "right" : "left", x: at });
        if (at < x0 || at > x1) return;
        ctx.strokeStyle = a.colour;
        ctx.beginPath();
        ctx.moveTo(sx(at), box.top);
        ctx.lineTo(sx(at), box.top + box.height);
        ctx.stroke();
      });
    }
    ctx.setLineDash([]);
    // the curves: a line through the samples, broken where the field jumps (the
    // sample at the kink, torch's one-sided value, stands alone as a dot)
    for (const { a, c: k } of withKey) {
      const x = slice(k, "x");
      const v = slice(k, key);
      const breaks = new Set(k.breaks[key] || []);
      const first = Math.max(0, lowerBound(x, x0) - 1);
      const last = Math.min(x.length - 1, lowerBound(x, x1));
      ctx.strokeStyle = a.colour;
      ctx.fillStyle = a.colour;
      ctx.lineWidth = 1.8;
      ctx.beginPath();
      let open = false;
      for (let j = first; j <= last; j += 1) {
        if (!Number.isFinite(v[j]) || breaks.has(j)) { open = false; continue; }
        if (open) ctx.lineTo(sx(x[j]), sy(v[j])); else ctx.moveTo(sx(x[j]), sy(v[j]));
        open = true;
      }
      ctx.stroke();
      for (const j of breaks) {
        if (x[j] < x0 || x[j] > x1) continue;
        ctx.beginPath();
        ctx.arc(sx(x[j]), sy(v[j]), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
      if (key === "g") {
        ctx.beginPath();
        ctx.arc(sx(x[k.peak]), sy(v[k.peak]), 4.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    // crosshair
    if (state.hover) {
      ctx.strokeStyle = c.axis;
      ctx.beginPath();
      ctx.moveTo(Math.round(sx(state.hover.x)) + 0.5, box.top);
      ctx.lineTo(Math.round(sx(state.hover.x)) + 0.5, box.top + box.height);
      ctx.stroke();
      for (const { a, c: k } of withKey) {
        const x = slice(k, "x");
        const j = nearest(x, state.hover.x);
        const v = slice(k, key)[j];
        if (!Number.isFinite(v)) continue;
        ctx.fillStyle = a.colour;
        ctx.strokeStyle = c.panel;
        ctx.beginPath();
        ctx.arc(sx(x[j]), sy(v), 4, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    }
    ctx.restore();
    // frame and tick labels
    ctx.strokeStyle = c.axis;
    ctx.strokeRect(box.left + 0.5, box.top + 0.5, box.width - 1, box.height - 1);
    ctx.fillStyle = c.text;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    yTicks.forEach((t, n) => ctx.fillText(yLabels[n], box.left - 5, sy(t)));
    const xLabels = formatTicks(xTicks);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    xTicks.forEach((t, n) => ctx.fillText(xLabels[n], sx(t), box.top + box.height + 5));
  }

  function paintHover(c, live) {
    const tip = $(".ax-hover");
    if (!state.hover || !live.length) { tip.hidden = true; return; }
    const rows = [];
    for (const { a, c: k } of live) {
      const x = slice(k, "x");
      const j = nearest(x, state.hover.x);
      const g2 = slice(k, "g2");
      const entry = {
        name: a.name, index: j, x: x[j],
        text: {
          x: coord(x[j], k.span),
          y: number(slice(k, "y")[j], k.dtype),
          g: number(slice(k, "g")[j], k.dtype),
          g2: g2 ? number(g2[j], k.dtype) : "0",
          regime: M.regimeCodes[CODES[k.r + j]],
        },
      };
      drawn.hover.push(entry);
      const swatch = make("span", { className: "ax-swatch" });
      swatch.style.background = a.colour;
      const t = entry.text;
      const row = make("div", { className: "ax-row" }, [
        make("div", { className: "ax-name" }, [swatch, k.label]),
        make("div", {
          textContent: `x = ${t.x} · f(x) = ${t.y} · f′(x) = ${t.g} · f″(x) = ${t.g2} · ${t.regime}`,
        }),
      ]);
      row.dataset.activation = a.name;
      rows.push(row);
    }
    tip.replaceChildren(...rows);
    tip.hidden = false;
    const holder = $(".ax-panels").getBoundingClientRect();
    const x = state.hover.clientX - holder.left + 16;
    const y = state.hover.clientY - holder.top + 16;
    const width = tip.offsetWidth;
    tip.style.left = `${Math.max(0, Math.min(x, holder.width - width))}px`;
    tip.style.top = `${y}px`;
  }

  // --- for tests and notebooks: what is drawn, as plain numbers ----------------------
  const api = {
    readyMs: null,
    format: { number, coord, formatTicks, formatG },
    state,
    drawn,
    manifest: () => M,
    plotted: () => drawn.curves.map(({ name, label, dtype, curve }) => ({
      name, label, dtype, refused: curve.refused,
      x: curve.refused ? null : Array.from(slice(curve, "x")),
      y: curve.refused ? null : Array.from(slice(curve, "y")),
      g: curve.refused ? null : Array.from(slice(curve, "g")),
      g2: curve.refused || curve.g2 === null ? null : Array.from(slice(curve, "g2")),
      regime: curve.refused ? null : Array.from(CODES.subarray(curve.r, curve.r + curve.n), (r) => M.regimeCodes[r]),
    })),
    panelPoint: (key, x) => {  // where x lies on a panel, in client pixels
      const p = panels.find((q) => q.field.key === key);
      const r = p.canvas.getBoundingClientRect();
      const { left, top, width, height } = p.box;
      return {
        x: r.left + left + ((x - state.view[0]) / (state.view[1] - state.view[0])) * width,
        y: r.top + top + height / 2,
      };
    },
  };
  root.actvizExplore = api;

  decode().then(({ manifest, floats, codes }) => {
    M = manifest;
    FLOATS = floats;
    CODES = codes;
    const count = M.activations.length;
    state.selected = count <= 4 ? M.activations.map((_, i) => i) : [0];
    state.positions = M.activations.map((a) => a.sliders.map((s) => s.start));
    state.dtype = M.dtypes[0];
    state.shade = state.selected[0];
    state.view = M.view.slice();
    buildControls();
    $(".ax-status").hidden = true;
    $(".ax-body").hidden = false;
    refresh();
  }).catch((error) => {
    $(".ax-status").textContent = `This page could not read its numbers: ${error}`;
    console.error(error);
  });
})();
