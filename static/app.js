// SD-Turbo anime studio page: plain fetch, small named functions, every prompt shown via textContent.
"use strict";

const urls = window.STUDIO_URLS;
const $ = (id) => document.getElementById(id);
const state = {
  clientId: Math.random().toString(36).slice(2, 12),
  controller: null,   // AbortController of the request in flight
  lastSeed: null,
  recent: [],
  liveTimer: null,
  validateTimer: null,
  seq: 0,            // numbers our requests so the server never lets an older one win
  validateSeq: 0,
  debounceMs: 150,
  tick: null,
};

async function init() {
  const config = await (await fetch(urls.config)).json();
  state.debounceMs = config.live_debounce_ms;
  fillSelect($("style"), Object.keys(config.styles), config.defaults.style);
  fillSelect($("size"), config.sizes.map(([w, h]) => `${w}×${h}`), "512×512");
  bindEvents();
  pollHealth();
}

function fillSelect(select, values, selected) {
  for (const value of values) {
    const option = document.createElement("option");
    option.value = option.textContent = value;
    option.selected = value === selected;
    select.append(option);
  }
}

function bindEvents() {
  $("generate").addEventListener("click", () => generate(false));
  $("prompt").addEventListener("input", onPromptInput);
  $("style").addEventListener("change", onPromptInput);
  for (const id of ["size", "seed"]) $(id).addEventListener("change", onSettingChange);
  for (const radio of document.querySelectorAll("input[name=steps]")) radio.addEventListener("change", onSettingChange);
  $("live").addEventListener("change", onLiveToggle);
  $("seed-lock").addEventListener("click", () => setSeedLock($("seed-lock").getAttribute("aria-pressed") !== "true"));
  $("seed-random").addEventListener("click", () => { setSeedLock(false); $("seed").value = ""; });
  $("seed").addEventListener("input", () => setSeedLock($("seed").value !== "", false));
  $("copy-seed").addEventListener("click", copySeed);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); generate(false); }
  });
}

async function pollHealth() {
  try {
    const response = await fetch(urls.health);
    const health = await response.json();
    if (response.ok) {
      const noise = health.random_weights ? " · random test weights: images are noise" : "";
      setHealth(`ready · ${health.label} on ${health.device}${noise}`, "ok");
      return;
    }
    setHealth(health.status === "error" ? `model failed to load: ${health.error}` : "loading model…", health.status);
  } catch (err) {
    setHealth("server unreachable, retrying…", "error");
  }
  setTimeout(pollHealth, 1000);
}

function setHealth(text, status) {
  $("health").textContent = text;
  $("health").dataset.status = status;
}

function readSettings(live) {
  const [width, height] = $("size").value.split("×").map(Number);
  const seedText = $("seed").value.trim();
  if ($("seed").validity.badInput || (seedText !== "" && !$("seed").checkValidity())) {
    throw new Error("Seed must be a whole number from 0 to 4294967295, or empty for a random one.");
  }
  return {
    prompt: $("prompt").value,
    style: $("style").value,
    steps: Number(document.querySelector("input[name=steps]:checked").value),
    seed: seedText === "" ? null : Number(seedText),
    width, height,
    format: live ? "jpeg" : "png",
    live,
    client_id: state.clientId,
    seq: ++state.seq,
  };
}

async function generate(live) {
  if (!$("prompt").value.trim()) { showError("Type a prompt first."); return; }
  let settings;
  try { settings = readSettings(live); } catch (err) { showError(err.message); return; }
  if (state.controller) state.controller.abort();   // the newest request wins
  const controller = new AbortController();
  state.controller = controller;
  startSpinner();
  try {
    const response = await fetch(urls.generate, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(settings), signal: controller.signal,
    });
    const data = await response.json();
    if (controller !== state.controller) return;      // superseded meanwhile
    if (response.ok) { showResult(data); addRecent(data); }
    else if (response.status === 422) showRejection(data);
    else showError(describeError(response, data));
  } catch (err) {
    if (err.name !== "AbortError") showError(`Request failed: ${err.message}`);
  } finally {
    if (controller === state.controller) { stopSpinner(); state.controller = null; }
  }
}

function describeError(response, data) {
  const retry = response.headers.get("Retry-After");
  return `${data.error || response.statusText}${retry ? ` (try again in ${retry} s)` : ""}`;
}

function showResult(data) {
  hide("rejection"); hide("error"); hide("placeholder");
  const src = data.src || `data:${data.mime};base64,${data.image}`;
  data.src = src;
  $("image").src = src;
  $("image").alt = data.prompt;
  show("image"); show("meta");
  $("timing").textContent = `${Math.round(data.total_ms)} ms (model ${Math.round(data.elapsed_ms)} ms, ` +
    `queue ${Math.round(data.queue_ms)} ms, batch of ${data.batch_size}) · ${data.steps} step(s) · ` +
    `${data.width}×${data.height} · ${data.style}`;
  $("seed-used").textContent = `Seed ${data.seed}`;
  $("download").href = src;
  $("download").download = `sdturbo-${data.seed}.${data.mime === "image/png" ? "png" : "jpg"}`;
  state.lastSeed = data.seed;
}

function showRejection(data) {
  hide("error");
  const reasons = $("reasons");
  reasons.replaceChildren(...data.reasons.map((reason) => item("li", reason)));
  const buttons = data.suggestions.map((suggestion) => {
    const button = item("button", suggestion);
    button.type = "button";
    button.addEventListener("click", () => useSuggestion(suggestion));
    return button;
  });
  $("suggestions").replaceChildren(...buttons);
  show("rejection");
}

function useSuggestion(text) {
  $("prompt").value = text;
  hide("rejection");
  validateSoon();
  generate($("live").checked);
}

function showError(message) {
  $("error").textContent = message;
  show("error");
}

function item(tag, text) {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

function addRecent(entry) {
  state.recent.unshift(entry);
  state.recent = state.recent.slice(0, 12);
  const thumbs = state.recent.map((recent) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "thumb";
    button.title = `${recent.prompt} · seed ${recent.seed}`;
    const img = document.createElement("img");
    img.src = recent.src;
    img.alt = recent.prompt;
    button.append(img);
    button.addEventListener("click", () => restore(recent));
    return button;
  });
  $("recent").replaceChildren(...thumbs);
}

function restore(entry) {
  if (state.controller) { state.controller.abort(); state.controller = null; stopSpinner(); }
  $("prompt").value = entry.prompt;
  $("style").value = entry.style;
  $("size").value = `${entry.width}×${entry.height}`;
  document.querySelector(`input[name=steps][value="${entry.steps}"]`).checked = true;
  $("seed").value = entry.seed;
  setSeedLock(true, false);
  showResult(entry);   // shown again, not added again
}

function setSeedLock(locked, fill = true) {
  $("seed-lock").setAttribute("aria-pressed", String(locked));
  $("seed-lock").textContent = locked ? "Locked" : "Lock";
  if (fill && locked && $("seed").value === "") {
    $("seed").value = state.lastSeed ?? Math.floor(Math.random() * 2 ** 32);
  }
  if (fill && !locked) $("seed").value = "";
}

function onLiveToggle() {
  // a fixed seed makes the picture follow the words instead of jumping with new noise
  if ($("live").checked) { setSeedLock(true); scheduleLive(); }
  else clearTimeout(state.liveTimer);
}

function onSettingChange() {
  if ($("live").checked) scheduleLive();
}

function onPromptInput() {
  validateSoon();
  if ($("live").checked) scheduleLive();
}

function scheduleLive() {
  clearTimeout(state.liveTimer);
  state.liveTimer = setTimeout(() => {
    if ($("live").checked && $("prompt").value.trim()) generate(true);
  }, state.debounceMs);
}

function validateSoon() {
  clearTimeout(state.validateTimer);
  state.validateTimer = setTimeout(validatePrompt, 300);
}

async function validatePrompt() {
  const prompt = $("prompt").value;
  const seq = ++state.validateSeq;
  if (!prompt.trim()) { $("verdict").textContent = ""; return; }
  let response, verdict;
  try {
    response = await fetch(urls.validate, {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({prompt, style: $("style").value}),
    });
    verdict = await response.json();
  } catch (err) {
    return;   // the check is a hint while typing; Generate reports real errors
  }
  if (seq !== state.validateSeq) return;   // a newer check is on its way
  if (!response.ok) { $("verdict").textContent = verdict.error; $("verdict").dataset.ok = "false"; return; }
  $("verdict").dataset.ok = String(verdict.allowed);
  $("verdict").textContent = verdict.allowed
    ? `✓ ${verdict.category === "anime" ? "anime prompt" : `neutral prompt: drawn in the ${verdict.style} style`}`
    : `✗ ${verdict.category.replaceAll("_", " ")}: ${verdict.reasons[0] || ""}`;
}

function startSpinner() {
  const started = performance.now();
  let queued = "", ticks = 0;
  show("spinner");
  clearInterval(state.tick);
  state.tick = setInterval(async () => {
    $("spinner-text").textContent = `generating… ${((performance.now() - started) / 1000).toFixed(1)} s${queued}`;
    if (++ticks % 7 === 0) queued = await queueText();   // a slow request: show how busy the server is
  }, 100);
}

async function queueText() {
  try {
    const health = await (await fetch(urls.health)).json();
    return health.queue_depth ? ` · ${health.queue_depth} waiting in queue` : "";
  } catch (err) {
    return "";
  }
}

function stopSpinner() {
  clearInterval(state.tick);
  hide("spinner");
}

async function copySeed() {
  if (state.lastSeed === null) return;
  try {
    await navigator.clipboard.writeText(String(state.lastSeed));
    $("copy-seed").textContent = "Copied";
  } catch (err) {
    $("copy-seed").textContent = `Seed ${state.lastSeed}`;   // clipboard needs https or localhost
  }
  setTimeout(() => { $("copy-seed").textContent = "Copy seed"; }, 1500);
}

function show(id) { $(id).hidden = false; }
function hide(id) { $(id).hidden = true; }

init();
