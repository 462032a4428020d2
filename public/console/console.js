// The operators' console: a static page over the admin API (/v1/admin), nothing else. The token it signs in with
// stays in this tab's session storage. Every text from the API goes into the page as text, never as markup.
"use strict";

const TOKEN_KEY = "socketpot.console.token";
const REFRESH_MS = 10_000;
/** How long a destructive button waits for its second click. */
const CONFIRM_MS = 4_000;

const $ = (selector, root = document) => root.querySelector(selector);

/** An answer of the admin API that was not a success, with what it said. */
class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error ?? null;
    this.scope = body?.scope ?? null;
  }
}

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(`/v1/admin${path}`, {
      method,
      headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, { error: "UNREACHABLE", message: "the server could not be reached" });
  }
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

/** What a person can do about an error, in words. */
function explain(error) {
  if (!(error instanceof ApiError)) return `Something went wrong in the page: ${error.message}. Reload it.`;
  switch (error.status) {
    case 0:
      return "The console cannot reach the server. Check the connection; it tries again every 10 seconds.";
    case 401:
      return "The server did not accept this token: it is mistyped, revoked, or not the admin token or an app key of this server. Sign in again.";
    case 403:
      if (error.code === "INSUFFICIENT_SCOPE") return `This app key lacks the ${error.scope} scope, so this part stays empty. The operator can issue a key that has it.`;
      return `Only the operator's admin token may do this (${error.message}).`;
    case 404:
      return `Not found: ${error.message}. It may have been deleted meanwhile.`;
    case 429:
      return "The server asks to slow down; the console tries again shortly.";
    default:
      if (error.status >= 500) return `The server failed to answer (HTTP ${error.status}: ${error.message}). It tries again every 10 seconds.`;
      return `The server refused this (HTTP ${error.status} ${error.code ?? ""}): ${error.message}.`;
  }
}

/** Shows `error` in the panel it belongs to (or the page), or clears it; a refused token signs out. */
function report(panel, error) {
  const line = panel ? $("[data-error]", panel) : $("#problem");
  if (!error) {
    line.hidden = true;
    line.textContent = "";
    return;
  }
  line.textContent = explain(error);
  line.hidden = false;
  if (error instanceof ApiError && error.status === 401) signOut(explain(error));
}

function element(tag, properties = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("data-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never");

/** A button that acts on its second click within a few seconds: deleting and revoking cannot be undone. */
function confirmButton(label, action) {
  const button = element("button", { type: "button", textContent: label });
  let armed = null;
  button.addEventListener("click", async () => {
    if (!armed) {
      button.textContent = `Confirm ${label.toLowerCase()}`;
      button.classList.add("armed");
      armed = setTimeout(() => {
        armed = null;
        button.textContent = label;
        button.classList.remove("armed");
      }, CONFIRM_MS);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.disabled = true;
    await action();
  });
  return button;
}

/** A button that acts at once (lifting a mute or a ban is undone by setting it again). */
function actionButton(label, action) {
  const button = element("button", { type: "button", textContent: label });
  button.addEventListener("click", async () => {
    button.disabled = true;
    await action();
  });
  return button;
}

function fill(list, items, render, empty) {
  list.replaceChildren(...(items.length > 0 ? items.map(render) : [element("li", { class: "muted", textContent: empty })]));
}

// Signing in and out.

let caller = null;

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    caller = await api("GET", "/whoami");
  } catch (error) {
    signOut(explain(error));
    return;
  }
  report(null, null);
  $("#who").textContent = caller.kind === "operator" ? "Signed in as the operator" : `Signed in with a key of app ${caller.app_id} (${caller.scopes.join(", ")})`;
  $("#sign-out").hidden = false;
  if (caller.kind === "app_key") location.hash = `#/apps/${caller.app_id}`;
  route();
}

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  caller = null;
  stopRefreshing();
  $("#who").textContent = "";
  $("#sign-out").hidden = true;
  for (const id of ["apps", "app"]) $(`#${id}`).hidden = true;
  $("#sign-in").hidden = false;
  const problem = $("#problem");
  problem.textContent = why ?? "";
  problem.hidden = !why;
  $("#token").value = "";
  $("#token").focus();
}

// Views: the apps (operator), and one app.

let refreshTimer = null;
function refreshEvery(work) {
  stopRefreshing();
  refreshTimer = setInterval(work, REFRESH_MS);
}
function stopRefreshing() {
  clearInterval(refreshTimer);
  refreshTimer = null;
}

function route() {
  if (!caller) return;
  const match = /^#\/apps\/(\d+)$/.exec(location.hash);
  $("#sign-in").hidden = true;
  if (match) return showApp(Number(match[1]));
  if (caller.kind === "app_key") {
    location.hash = `#/apps/${caller.app_id}`;
    return;
  }
  showApps();
}

async function showApps() {
  $("#app").hidden = true;
  $("#apps").hidden = false;
  const load = async () => {
    const panel = $("#apps");
    try {
      const apps = [];
      let after = 0;
      do {
        const page = await api("GET", `/apps?limit=100&after=${after}`);
        apps.push(...page.apps);
        after = page.next_after;
      } while (after !== null);
      $("#app-list tbody").replaceChildren(
        ...apps.map((app) =>
          element(
            "tr",
            {},
            element("td", { textContent: String(app.id) }),
            element("td", {}, element("a", { href: `#/apps/${app.id}`, textContent: app.name })),
            element("td", { textContent: `${app.shards} (${app.shard_mode})` }),
            element("td", { textContent: `${app.retention_days} days` }),
            element("td", { textContent: when(app.created_at) }),
          ),
        ),
      );
      report(panel, null);
    } catch (error) {
      report(panel, error);
    }
  };
  await load();
  refreshEvery(load);
}

/** The charts of an app's minutes: each a few series of the metrics series. */
const CHARTS = [
  { title: "Connections and users", series: [["connections_websocket", "WebSocket", "#2257c5"], ["connections_polling", "Long-polling", "#8a5cc7"], ["users", "Users", "#1f7a3f"]] },
  { title: "Chat messages per minute", series: [["chat_messages", "Taken", "#1f7a3f"], ["rate_limited", "Rate-limited", "#c77d0a"], ["refused_messages", "Refused", "#b3261e"]] },
  { title: "Connects and auths per minute", series: [["connects", "Connects", "#2257c5"], ["sessions_started", "Sessions", "#1f7a3f"], ["auth_failures", "Failed auths", "#b3261e"]] },
  {
    title: "Deliveries per minute",
    series: [["deliveries", "Broadcasts delivered", "#2257c5"], ["events_delivered", "Events delivered", "#1f7a3f"], ["webhook_failures", "Webhook failures", "#c77d0a"], ["dead_lettered", "Dead-lettered", "#b3261e"]],
  },
];

let charts = [];

/** Two charts a row on a wide screen, one on a phone. */
function chartWidth() {
  const available = $("#charts").clientWidth;
  return Math.max(260, Math.floor(available / (available > 900 ? 2 : 1)) - 16);
}

function drawCharts(series) {
  const container = $("#charts");
  const width = chartWidth();
  const times = series.map((minute) => Date.parse(minute.minute) / 1000);
  const data = (chart) => [times, ...chart.series.map(([name]) => series.map((minute) => minute[name]))];
  if (charts.length === CHARTS.length && charts[0].width === width) {
    CHARTS.forEach((chart, index) => charts[index].setData(data(chart)));
    return;
  }
  for (const chart of charts) chart.destroy();
  container.replaceChildren();
  charts = CHARTS.map((chart) => {
    const figure = element("figure", { class: "chart", "data-chart": chart.title });
    container.append(figure);
    return new uPlot(
      {
        title: chart.title,
        width,
        height: 200,
        scales: { y: { range: (_plot, _min, max) => [0, Math.max(1, max)] } },
        series: [{}, ...chart.series.map(([, label, stroke]) => ({ label, stroke, width: 2, points: { show: false } }))],
        axes: [{}, { size: 48 }],
      },
      data(chart),
      figure,
    );
  });
}

let currentApp = null;

async function showApp(appId) {
  $("#apps").hidden = true;
  $("#app").hidden = false;
  $("#to-apps").hidden = caller.kind !== "operator";
  if (currentApp !== appId) {
    currentApp = appId;
    for (const chart of charts) chart.destroy();
    charts = [];
    $("#charts").replaceChildren();
    $("#app-title").textContent = `App ${appId}`;
    $("#settings-saved").textContent = "";
    settingsShown = false;
  }
  const load = () => Promise.all([loadLive(appId), loadCharts(appId), loadMessages(appId), loadMutes(appId), loadBans(appId), loadTokens(appId), loadKeys(appId), loadSettings(appId)]);
  await load();
  $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}, every ${REFRESH_MS / 1000} s`;
  refreshEvery(async () => {
    await load();
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}, every ${REFRESH_MS / 1000} s`;
  });
}

/** Runs a panel's load, showing its error in the panel. */
async function panel(id, work) {
  const section = $(`#${id}`);
  try {
    await work();
    report(section, null);
  } catch (error) {
    report(section, error);
  }
}

const loadLive = (appId) =>
  panel("live", async () => {
    const stats = await api("GET", `/apps/${appId}/stats`);
    $("#figure-connections").textContent = String(stats.connections);
    $("#figure-users").textContent = String(stats.users);
    $("#figure-shards").textContent = `${stats.shard_count} (${stats.shard_mode})`;
    $("#figure-rps").textContent = String(Math.max(...stats.shards.map((shard) => shard.peak_requests_per_second)));
  });

const loadCharts = (appId) =>
  panel("charts-panel", async () => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const from = new Date(Date.now() - 59 * 60_000).toISOString();
    const { series } = await api("GET", `/apps/${appId}/metrics?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    drawCharts(series.slice(0, -1));
  });

const loadMessages = (appId) =>
  panel("messages-panel", async () => {
    const { messages } = await api("GET", `/apps/${appId}/messages?limit=30`);
    fill(
      $("#messages"),
      messages,
      (message) =>
        element(
          "li",
          { "data-id": String(message.id) },
          element("span", { class: "meta", textContent: `#${message.channel} · ${message.user ? message.user.uname : "system"} · ${when(message.created_at)}` }),
          element("span", { class: "text", textContent: message.text }),
          confirmButton("Delete", async () => {
            await panel("messages-panel", () => api("DELETE", `/apps/${appId}/messages/${message.id}`));
            await loadMessages(appId);
          }),
        ),
      "No messages yet.",
    );
  });

const loadMutes = (appId) =>
  panel("mutes-panel", async () => {
    const { mutes } = await api("GET", `/apps/${appId}/mutes`);
    fill(
      $("#mutes"),
      mutes,
      (mute) =>
        element(
          "li",
          { "data-auth-id": String(mute.auth_id) },
          element("span", { class: "text", textContent: `${mute.uname}, by ${mute.muted_by}, until ${when(mute.expires_at)}` }),
          actionButton("Lift", async () => {
            await panel("mutes-panel", () => api("DELETE", `/apps/${appId}/mutes/${mute.auth_id}`));
            await loadMutes(appId);
          }),
        ),
      "No one is muted.",
    );
  });

const loadBans = (appId) =>
  panel("bans-panel", async () => {
    const { bans } = await api("GET", `/apps/${appId}/bans`);
    fill(
      $("#bans"),
      bans,
      (ban) =>
        element(
          "li",
          { "data-auth-id": String(ban.auth_id) },
          element("span", { class: "text", textContent: `user ${ban.auth_id}${ban.reason ? `: ${ban.reason}` : ""}, until ${ban.expires_at ? when(ban.expires_at) : "lifted"}` }),
          actionButton("Lift", async () => {
            await panel("bans-panel", () => api("DELETE", `/apps/${appId}/bans/${ban.auth_id}`));
            await loadBans(appId);
          }),
        ),
      "No one is banned.",
    );
  });

const loadTokens = (appId) =>
  panel("tokens-panel", async () => {
    const { tokens } = await api("GET", `/apps/${appId}/tokens?limit=100`);
    fill(
      $("#tokens"),
      tokens.filter((token) => !token.revoked_at),
      (token) =>
        element(
          "li",
          { "data-id": String(token.id) },
          element("span", { class: "text", textContent: `${token.uname} (${token.role}) · ${token.prefix}… · expires ${when(token.expires_at)}` }),
          confirmButton("Revoke", async () => {
            await panel("tokens-panel", () => api("DELETE", `/apps/${appId}/tokens/${token.id}`));
            await loadTokens(appId);
          }),
        ),
      "No live tokens.",
    );
  });

const loadKeys = (appId) =>
  panel("keys-panel", async () => {
    const { keys } = await api("GET", `/apps/${appId}/keys?limit=100`);
    fill(
      $("#keys"),
      keys.filter((key) => !key.revoked_at),
      (key) =>
        element(
          "li",
          { "data-id": String(key.id) },
          element("span", { class: "text", textContent: `${key.prefix}… · ${key.scopes.join(", ")}${caller.kind === "app_key" && caller.key_id === key.id ? " · this key" : ""}` }),
          confirmButton("Revoke", async () => {
            await panel("keys-panel", () => api("DELETE", `/apps/${appId}/keys/${key.id}`));
            await loadKeys(appId);
          }),
        ),
      "No live keys.",
    );
  });

/**
 * The settings form is filled once per app, so that a refresh never overwrites what someone is typing; what it
 * was filled with is kept, so that saving sends only what changed (an unchanged shard count the deployment set
 * stays the deployment's).
 */
let settingsShown = false;
let shownSettings = {};

const loadSettings = (appId) =>
  panel("settings-panel", async () => {
    if (settingsShown) return;
    const app = await api("GET", `/apps/${appId}`);
    settingsShown = true;
    $("#app-title").textContent = `${app.name} (app ${app.id})`;
    const form = $("#settings");
    form.elements.name.value = app.name;
    form.elements.retention_days.value = String(app.retention_days);
    form.elements.shards.value = app.shard_mode === "fixed" ? String(app.shards) : "";
    form.elements.allowed_origins.value = app.allowed_origins.join("\n");
    shownSettings = settingsOf(form);
    for (const field of form.elements) field.disabled = caller.kind !== "operator";
    $("#settings-saved").textContent = caller.kind === "operator" ? "" : "Only the operator's admin token may change these.";
  });

/** The form's values as the API takes them. */
function settingsOf(form) {
  const shards = form.elements.shards.value.trim();
  return {
    name: form.elements.name.value.trim(),
    retention_days: Number(form.elements.retention_days.value),
    shards: shards === "" ? null : Number(shards),
    allowed_origins: form.elements.allowed_origins.value.split("\n").map((origin) => origin.trim()).filter(Boolean),
  };
}

async function saveSettings(event) {
  event.preventDefault();
  const values = settingsOf($("#settings"));
  const change = Object.fromEntries(Object.entries(values).filter(([name, value]) => JSON.stringify(value) !== JSON.stringify(shownSettings[name])));
  await panel("settings-panel", async () => {
    const app = await api("PATCH", `/apps/${currentApp}`, change);
    shownSettings = values;
    $("#app-title").textContent = `${app.name} (app ${app.id})`;
    $("#settings-saved").textContent = `Saved at ${new Date().toLocaleTimeString()}.`;
  });
}

$("#sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("#token").value.trim());
});
$("#sign-out").addEventListener("click", () => signOut());
$("#settings").addEventListener("submit", saveSettings);
window.addEventListener("hashchange", route);
window.addEventListener("resize", () => {
  for (const chart of charts) chart.setSize({ width: chartWidth(), height: 200 });
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
else signOut();
