// Iterating on a concept (docs/ITERATE.md): the variations grid, image to image from the current image, a
// sketch or an upload, and upscaling the pick. Loaded after common.js and app.js; uses app.js's readSettings,
// imageCount, requestImages, imageSrc, showPick, showEntry, setSeedLock, showError, state, urls and options.
"use strict";

const PALETTE = [   // a small anime palette: line ink, skin, hair and eyes, sky, foliage, accents
  ["#22212b", "ink"], ["#ffd9c4", "skin"], ["#ff7ab6", "sakura pink"], ["#e5484d", "crimson"],
  ["#ffb547", "amber"], ["#5cc77a", "leaf green"], ["#5aa9f0", "sky blue"], ["#8f6fe8", "violet"],
];
const RUN_LABELS = {vary: "Vary", sketch: "Generate from sketch", upload: "Generate from upload"};
const iterate = {
  tab: "vary",
  items: [],            // the grid: {src, alt, caption, seed, pick()}
  selected: -1,
  source: null,         // Vary's init image pinned by "Vary this": {libraryId, src, seed, alt}; null: the image shown
  upload: null,         // Upload: {file, url}
  sketch: {ops: [], undone: [], stroke: null, pointer: null, color: PALETTE[0][0], size: 0.03, erasing: false},
  liveTimer: null,
};

function initIterate() {
  bindTabs();
  bindGrid();
  bindSketch();
  bindUpload();
  $("strength").addEventListener("input", onStrengthInput);
  for (const radio of document.querySelectorAll("input[name=steps]")) radio.addEventListener("change", showStrength);
  $("img2img-run").addEventListener("click", () => runImg2img(false));
  $("vary-this").addEventListener("click", openVary);
  $("upscale").addEventListener("click", upscaleCurrent);
  $("prompt").addEventListener("input", () => { if ($("sketch-live").checked) scheduleSketchLive(); });
  $("live").addEventListener("change", () => { if ($("live").checked) setSketchLive(false); });
  showStrength();
  selectTab("vary");
}

// 1. The grid: several images of one answer (or an upscale beside its original); one of them is the current image

// Called by app.js with every image it shows anew: several make a grid showing the first, one clears it. A new
// text-to-image picture unpins Vary's init image; image-to-image results keep it, to try other strengths.
function showGrid(images) {
  hide("iterate-error");
  if (!images.some((image) => image.strength != null)) iterate.source = null;
  renderGrid(images.length > 1 ? images.map(answerItem) : [], 0);
}

function answerItem(data) {
  const strength = data.strength == null ? "" : ` · strength ${data.strength}`;
  const caption = `seed ${data.seed}${strength}`;
  return {src: imageSrc(data), alt: data.prompt, seed: data.seed, caption, pick: () => showPick(data)};
}

function renderGrid(items, selected) {
  iterate.items = items;
  $("variations").replaceChildren(...items.map(gridOption));
  $("variations").hidden = items.length === 0;
  iterate.selected = -1;
  if (items.length) markSelected(selected);
  renderVary();
}

function gridOption(entry, index) {
  const option = document.createElement("div");
  option.className = "variation";
  option.setAttribute("role", "option");
  option.dataset.seed = entry.seed;
  option.title = entry.alt;
  const img = document.createElement("img");
  img.src = entry.src;
  img.alt = entry.alt;
  option.append(img, item("span", entry.caption));
  option.addEventListener("click", () => pickGridItem(index));
  return option;
}

function markSelected(index) {
  iterate.selected = index;
  [...$("variations").children].forEach((option, i) => {
    option.setAttribute("aria-selected", String(i === index));
    option.tabIndex = i === index ? 0 : -1;   // one tab stop: the arrow keys move inside
  });
}

// A pick by the user: it becomes the current image, and its seed goes into the form (locked) to make it again.
function pickGridItem(index, focus = false) {
  const entry = iterate.items[index];
  if (!entry || index === iterate.selected) return;
  markSelected(index);
  entry.pick();
  if (entry.seed != null) { $("seed").value = entry.seed; setSeedLock(true, false); }
  renderVary();
  if (focus) $("variations").children[index].focus();
}

function bindGrid() {
  $("variations").addEventListener("keydown", onGridKey);
}

// Left/right one image, up/down one row (as many as the grid shows columns), Home/End the ends; the edges stop it.
function onGridKey(event) {
  const columns = getComputedStyle($("variations")).gridTemplateColumns.split(" ").length;
  const last = iterate.items.length - 1;
  const moves = {ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns};
  const next = event.key in moves ? iterate.selected + moves[event.key] : {Home: 0, End: last}[event.key];
  if (next === undefined) return;
  event.preventDefault();
  if (next >= 0 && next <= last) pickGridItem(next, true);
}

// 2. Image to image: the tabs, the strength, the request

function bindTabs() {
  const tabs = [...document.querySelectorAll("#iterate [role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab.id.replace("tab-", "")));
    tab.addEventListener("keydown", (event) => {
      const step = {ArrowLeft: -1, ArrowRight: 1}[event.key];
      if (!step) return;
      const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
      selectTab(next.id.replace("tab-", ""));
      next.focus();
    });
  }
}

function selectTab(name) {
  iterate.tab = name;
  for (const tab of document.querySelectorAll("#iterate [role=tab]")) {
    const on = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
  }
  if (name !== "sketch") setSketchLive(false);
  if (name === "sketch") fitSketch();
  $("img2img-run").textContent = RUN_LABELS[name];
  renderRunButton();
}

function renderRunButton() {
  const ready = {vary: Boolean(varySource()), sketch: true, upload: Boolean(iterate.upload)};
  $("img2img-run").disabled = !ready[iterate.tab];
}

// "Vary this": the image shown becomes Vary's init image until a new text-to-image picture; the panel comes into view.
function openVary() {
  if ($("image").hidden) return;
  iterate.source = shownSource();
  selectTab("vary");
  renderVary();
  $("iterate").scrollIntoView({behavior: "smooth", block: "start"});
  $("strength").focus({preventScroll: true});
}

function shownSource() {
  const entry = state.current?.entry;
  return {libraryId: entry?.id ?? null, src: $("image").src, seed: state.lastSeed, alt: $("image").alt, pinned: true};
}

// Vary's init image: the pinned one, else the image shown, else none yet.
function varySource() {
  if (iterate.source) return iterate.source;
  return $("image").hidden ? null : {...shownSource(), pinned: false};
}

function renderVary() {
  const source = varySource();
  $("vary-source").hidden = !source;
  renderRunButton();
  if (!source) return;
  $("vary-source").src = source.src;
  $("vary-source").alt = `Init image: ${source.alt}`;
  const library = source.libraryId == null ? "" : ` · library image ${source.libraryId}`;
  $("vary-note").textContent = `${source.pinned ? "Varying" : "Varies the image shown:"} seed ${source.seed}${library}. ` +
    (source.pinned ? "Edit the prompt to steer it." : "Vary this under an image keeps it here.");
}

function strength() {
  return Number($("strength").value);
}

function onStrengthInput() {
  showStrength();
  if ($("sketch-live").checked) scheduleSketchLive();
}

// int(steps × strength) steps denoise the init image, so low strengths need more steps (docs/ITERATE.md).
function img2imgSteps(formSteps) {
  for (let steps = formSteps; steps <= options.limits.steps[1]; steps++) {
    if (Math.floor(steps * strength()) >= 1) return steps;
  }
  return null;
}

function showStrength() {
  const formSteps = Number(document.querySelector("input[name=steps]:checked").value);
  const steps = img2imgSteps(formSteps);
  const max = options.limits.steps[1];
  $("strength-value").textContent = strength().toFixed(2);
  $("strength-hint").textContent = steps === null
    ? `Below ${(1 / max).toFixed(2)} even ${max} steps leave nothing to redraw: the server will refuse it.`
    : `${steps} step(s)${steps > formSteps ? ` (${formSteps} is too few at this strength)` : ""}: ` +
      "subtle keeps the picture, strong redraws it.";
}

// Text fields of an image-to-image request: the form's settings, its strength and count; the size comes from the init image.
function img2imgSettings(live) {
  const settings = readSettings(live);
  delete settings.width;
  delete settings.height;
  settings.strength = strength();
  settings.steps = img2imgSteps(settings.steps) ?? settings.steps;
  if (!live && imageCount() > 1) settings.n = imageCount();
  return settings;
}

async function runImg2img(live) {
  hide("iterate-error");
  if (!$("prompt").value.trim()) { iterateError("Type a prompt first: it says what the image becomes."); return; }
  let settings;
  try { settings = img2imgSettings(live); } catch (err) { iterateError(err.message); return; }
  const {tab, upload} = iterate;
  const body = tab === "upload" ? uploadForm(settings) : {...settings, ...jsonInit(tab)};
  const data = await requestImages(urls.img2img, body, live, iterateError);
  if (!data) return;
  if (tab === "upload" && upload === iterate.upload) showCrop(data.images?.[0] || data);   // not another file's since
  if (tab === "sketch") showSketchResult(data.images?.[0] || data);
}

// The library's Re-run of an image-to-image result: its recorded init image and strength, and the settings
// that restoring it put in the form (prompt, style, steps, seed, size).
async function remake(entry) {
  let settings;
  try { settings = readSettings(false); } catch (err) { iterateError(err.message); return; }
  const body = {...settings, strength: entry.strength, init_sha256: entry.init_sha256};
  await requestImages(urls.img2img, body, false, iterateError);
}

// The init image of a JSON request: a library image by id, else the pixels as a data URL.
function jsonInit(tab) {
  if (tab === "sketch") return {image: $("sketch").toDataURL("image/png")};
  const source = varySource();
  return source.libraryId != null ? {library_id: source.libraryId} : {image: source.src};
}

function iterateError(message) {
  $("iterate-error").textContent = message;
  show("iterate-error");
}

// 3. Sketch: pointer events (mouse, touch, stylus) draw strokes kept as a list, so undo, redo and resizing replay it

function bindSketch() {
  $("palette").replaceChildren(...PALETTE.map(([color, name]) => swatch(color, name)));
  for (const dot of document.querySelectorAll(".brush .dot[data-dot]")) {
    dot.style.setProperty("--dot", `${dot.dataset.dot}px`);  // CSSOM, which the CSP allows (a style attribute it would not)
  }
  for (const brush of document.querySelectorAll(".brush[data-size]")) {
    brush.addEventListener("click", () => setBrush(Number(brush.dataset.size)));
  }
  $("eraser").addEventListener("click", () => setErasing(!iterate.sketch.erasing));
  const canvas = $("sketch");
  canvas.addEventListener("pointerdown", startStroke);
  canvas.addEventListener("pointermove", continueStroke);
  for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, endStroke);
  $("undo").addEventListener("click", () => moveHistory(iterate.sketch.ops, iterate.sketch.undone));
  $("redo").addEventListener("click", () => moveHistory(iterate.sketch.undone, iterate.sketch.ops));
  $("clear").addEventListener("click", () => addOp({clear: true}));
  $("sketch-live").addEventListener("change", () => setSketchLive($("sketch-live").checked));
  $("size").addEventListener("change", fitSketch);
  renderSwatches();
  fitSketch();
}

function swatch(color, name) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "swatch";
  button.setAttribute("aria-label", name);
  button.title = name;
  button.dataset.color = color;
  button.style.setProperty("--swatch", color);
  button.addEventListener("click", () => { iterate.sketch.color = color; setErasing(false); });
  return button;
}

function renderSwatches() {
  const {color, size, erasing} = iterate.sketch;
  for (const button of $("palette").children) {
    button.setAttribute("aria-pressed", String(!erasing && button.dataset.color === color));
  }
  for (const brush of document.querySelectorAll(".brush[data-size]")) {
    brush.setAttribute("aria-pressed", String(Number(brush.dataset.size) === size));
  }
  $("eraser").setAttribute("aria-pressed", String(erasing));
}

function setBrush(size) {
  iterate.sketch.size = size;
  renderSwatches();
}

function setErasing(on) {
  iterate.sketch.erasing = on;
  renderSwatches();
}

// The canvas holds the pixels of the chosen size, so the drawing is the init image as it is.
function fitSketch() {
  const [width, height] = $("size").value.split("x").map(Number);
  const canvas = $("sketch");
  if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
  renderSketch();
}

function point(event) {
  const box = $("sketch").getBoundingClientRect();
  const weight = event.pointerType === "pen" ? 0.3 + 1.4 * (event.pressure || 0.5) : 1;   // a stylus presses thicker
  return [(event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height, weight];
}

function startStroke(event) {
  const sketch = iterate.sketch;
  if (sketch.pointer !== null || event.button > 0) return;   // one finger draws; a second one is ignored
  event.preventDefault();
  sketch.pointer = event.pointerId;
  try { $("sketch").setPointerCapture(event.pointerId); } catch (err) { /* a synthetic pointer: no capture */ }
  sketch.stroke = {color: sketch.erasing ? "#ffffff" : sketch.color, size: sketch.size, points: [point(event)]};
  drawStroke($("sketch").getContext("2d"), sketch.stroke);
}

function continueStroke(event) {
  const sketch = iterate.sketch;
  if (event.pointerId !== sketch.pointer) return;
  const events = event.getCoalescedEvents?.() || [];
  for (const each of events.length ? events : [event]) {
    sketch.stroke.points.push(point(each));
    drawSegment($("sketch").getContext("2d"), sketch.stroke, sketch.stroke.points.length - 1);
  }
}

function endStroke(event) {
  const sketch = iterate.sketch;
  if (event.pointerId !== sketch.pointer) return;
  sketch.pointer = null;
  const stroke = sketch.stroke;
  sketch.stroke = null;
  addOp(stroke);
}

// A finished stroke or a clear: undoable, and with Live on it redraws the result.
function addOp(op) {
  iterate.sketch.ops.push(op);
  iterate.sketch.undone = [];
  afterSketchChange();
}

function moveHistory(from, to) {
  if (!from.length) return;
  to.push(from.pop());
  afterSketchChange();
}

function afterSketchChange() {
  renderSketch();
  if ($("sketch-live").checked) scheduleSketchLive();
}

function renderSketch() {
  const canvas = $("sketch");
  const context = canvas.getContext("2d");
  const {ops, undone} = iterate.sketch;
  const cleared = ops.map((op) => Boolean(op.clear)).lastIndexOf(true);
  context.fillStyle = "#ffffff";   // the init image is opaque: white paper, not transparent pixels
  context.fillRect(0, 0, canvas.width, canvas.height);
  for (const stroke of ops.slice(cleared + 1)) drawStroke(context, stroke);
  $("undo").disabled = !ops.length;
  $("redo").disabled = !undone.length;
  $("clear").disabled = cleared === ops.length - 1;   // nothing drawn since the last clear
}

function drawStroke(context, stroke) {
  for (let i = 0; i < stroke.points.length; i++) drawSegment(context, stroke, i);
}

// Point i of a stroke: a dot for the first, a line from the one before for the others.
function drawSegment(context, stroke, i) {
  const {width, height} = context.canvas;
  const [x, y, weight] = stroke.points[i];
  const thickness = stroke.size * width * weight;
  context.strokeStyle = context.fillStyle = stroke.color;
  context.lineCap = context.lineJoin = "round";
  context.lineWidth = thickness;
  context.beginPath();
  if (i === 0) {
    context.arc(x * width, y * height, thickness / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  const [px, py] = stroke.points[i - 1];
  context.moveTo(px * width, py * height);
  context.lineTo(x * width, y * height);
  context.stroke();
}

// Live sketching: the text Live is off meanwhile (one live source at a time); a fixed seed makes the strokes,
// not new noise, change the picture.
function setSketchLive(on) {
  $("sketch-live").checked = on;
  clearTimeout(iterate.liveTimer);
  if (!on) return;
  if ($("live").checked) { $("live").checked = false; clearTimeout(state.liveTimer); }
  setSeedLock(true);
  scheduleSketchLive();
}

function scheduleSketchLive() {
  clearTimeout(iterate.liveTimer);
  iterate.liveTimer = setTimeout(() => {
    if ($("sketch-live").checked && iterate.tab === "sketch" && $("prompt").value.trim()) runImg2img(true);
  }, options.live_debounce_ms);
}

// Phones show the result under the form: a small copy beside the sketch tools shows what the last strokes made.
function showSketchResult(data) {
  $("sketch-result").src = imageSrc(data);
  show("sketch-result-figure");
}

// 4. Upload: pick or drop a PNG, JPEG or WebP as the init image; the answer says which part of it was used

const INIT_TYPES = ["image/png", "image/jpeg", "image/webp"];
const INIT_NAMES = /\.(png|jpe?g|webp)$/i;   // some systems give no type for a WebP

function bindUpload() {
  $("init-file").addEventListener("change", () => { setUpload($("init-file").files[0]); $("init-file").value = ""; });
  const zone = $("init-drop");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    hide("drop-overlay");   // the page's overlay is for PNG settings: this zone takes the file as the init image
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", onInitDrop);
}

function onInitDrop(event) {
  event.preventDefault();
  event.stopPropagation();   // not the page's drop, which would read the PNG's settings
  $("init-drop").classList.remove("over");
  // bindPngDrop counts the drag's enters and leaves (never below 0); without its drop the count stays up
  for (let i = 0; i < 8; i++) document.dispatchEvent(new Event("dragleave"));
  setUpload(event.dataTransfer.files[0]);
}

function setUpload(file) {
  if (!file) return;
  hide("iterate-error");
  if (!INIT_TYPES.includes(file.type) && !(file.type === "" && INIT_NAMES.test(file.name))) {
    const got = file.type || "a file of unknown type";
    iterateError(`${file.name}: the init image must be a PNG, JPEG or WebP file, got ${got}.`);
    return;
  }
  if (iterate.upload) URL.revokeObjectURL(iterate.upload.url);
  iterate.upload = {file, url: URL.createObjectURL(file)};
  hide("crop-box");
  $("upload-image").src = iterate.upload.url;
  $("upload-note").textContent = `${file.name} · ${(file.size / 2 ** 20).toFixed(1)} MB`;
  $("upload-image").onload = () => {
    const image = $("upload-image");
    $("upload-note").textContent = `${file.name} · ${image.naturalWidth}×${image.naturalHeight}: the nearest allowed size ` +
      "is used, aspect ratio kept, centre-cropped; the crop shows after the first run.";
  };
  show("upload-figure");
  renderRunButton();
}

// Multipart: the file as it is (no base64 growth), the settings as text fields.
function uploadForm(settings) {
  const form = new FormData();
  form.append("image", iterate.upload.file);
  for (const [name, value] of Object.entries(settings)) if (value !== null) form.append(name, String(value));
  return form;
}

function showCrop(data) {
  const {init, crop} = data;
  if (!init || !crop) return;
  const box = $("crop-box").style;
  box.left = `${(100 * crop.left) / init.width}%`;
  box.top = `${(100 * crop.top) / init.height}%`;
  box.width = `${(100 * crop.width) / init.width}%`;
  box.height = `${(100 * crop.height) / init.height}%`;
  show("crop-box");
  const whole = crop.width === init.width && crop.height === init.height;
  const used = whole
    ? `Used all of ${init.width}×${init.height}`
    : `Used ${crop.width}×${crop.height} of ${init.width}×${init.height}, centre`;
  $("upload-note").textContent = `${iterate.upload.file.name}: ${used} → ${data.width}×${data.height}.`;
}

// 5. Upscale the pick: a saved image at twice its size; the result is a new image, shown beside the original

async function upscaleCurrent() {
  const original = state.current?.entry;
  if (!original) { showError("Upscale works on an image saved in the library: keep it first."); return; }
  $("upscale").disabled = true;
  try {
    const data = await requestImages(urls.upscale, {library_id: original.id}, false);
    if (!data) return;
    const result = data.images?.[0] || data;
    const entryItem = {src: original.url, alt: original.prompt, seed: original.seed, pick: () => showEntry(original)};
    renderGrid([
      {...entryItem, caption: `original · ${original.width}×${original.height}`},
      {...answerItem(result), caption: `upscaled · ${result.width}×${result.height}`},
    ], 1);
  } finally {
    $("upscale").disabled = false;
  }
}

initIterate();
