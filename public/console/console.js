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
  if (!sessionStorage.getItem(TOKEN_KEY)) throw new ApiError(401, { error: "SIGNED_OUT", message: "signed out" });
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
    // A refused token is forgotten; a server that could not answer keeps it, to try again.
    if (error instanceof ApiError && error.status === 401) signOut(explain(error));
    else report(null, error);
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
  generation += 1;
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

/**
 * Each view shown (and each sign-out) starts a new generation: a load still under way for an earlier one draws
 * nothing and starts no timer when it ends, so one app's data never lands in another's view.
 */
let generation = 0;
const current = (view) => view === generation && caller !== null;

let refreshTimer = null;
/** Runs `work` every {@link REFRESH_MS} while `view` is current and the tab is visible. */
function refreshEvery(view, work) {
  stopRefreshing();
  if (!current(view)) return;
  refreshTimer = setInterval(() => {
    if (current(view) && document.visibilityState === "visible") work();
  }, REFRESH_MS);
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
  const view = ++generation;
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
      if (!current(view)) return;
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
      if (current(view)) report(panel, error);
    }
  };
  await load();
  refreshEvery(view, load);
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

async function showApp(appId) {
  const view = ++generation;
  $("#apps").hidden = true;
  $("#app").hidden = false;
  $("#to-apps").hidden = caller.kind !== "operator";
  if (settingsShown?.appId !== appId) {
    for (const chart of charts) chart.destroy();
    charts = [];
    $("#charts").replaceChildren();
    for (const list of ["#messages", "#mutes", "#bans", "#tokens", "#keys"]) $(list).replaceChildren();
    $("#app-title").textContent = `App ${appId}`;
    $("#settings-saved").textContent = "";
    settingsShown = null;
  }
  const loaders = [loadLive, loadCharts, loadMessages, loadMutes, loadBans, loadTokens, loadKeys, loadSettings];
  const load = async () => {
    await Promise.all(loaders.map((loader) => loader(appId, view)));
    if (current(view)) $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}, every ${REFRESH_MS / 1000} s while shown`;
  };
  await load();
  refreshEvery(view, load);
}

/**
 * Runs a panel's load: `read` asks the API, and `draw` shows what it answered, only while `view` is the view
 * shown. An error is shown in the panel.
 */
async function panel(id, view, read, draw = () => {}) {
  const section = $(`#${id}`);
  try {
    const answer = await read();
    if (!current(view)) return;
    draw(answer);
    report(section, null);
  } catch (error) {
    if (current(view)) report(section, error);
  }
}

const loadLive = (appId, view) =>
  panel("live", view, () => api("GET", `/apps/${appId}/stats`), (stats) => {
    $("#figure-connections").textContent = String(stats.connections);
    $("#figure-users").textContent = String(stats.users);
    $("#figure-shards").textContent = `${stats.shard_count} (${stats.shard_mode})`;
    $("#figure-rps").textContent = String(Math.max(...stats.shards.map((shard) => shard.peak_requests_per_second)));
  });

const loadCharts = (appId, view) => {
  const to = new Date(Date.now() + 60_000).toISOString();
  const from = new Date(Date.now() - 59 * 60_000).toISOString();
  return panel("charts-panel", view, () => api("GET", `/apps/${appId}/metrics?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`), ({ series }) =>
    drawCharts(series.slice(0, -1)),
  );
};

/**
 * A panel that lists what an app holds, one row each with one action: `path` lists them, `items` takes them
 * from the answer, `row` says a row's key attribute, its line above (optional) and its text, and `action` is
 * the button and the request it makes. After the action, the list is read again.
 */
function listPanel({ id, list, path, items, row, empty, action }) {
  const load = (appId, view) =>
    panel(id, view, () => api("GET", path(appId)), (answer) =>
      fill(
        $(list),
        items(answer),
        (item) => {
          const { key, meta, text } = row(item);
          const act = async () => {
            await panel(id, view, () => api("DELETE", action.path(appId, item)));
            await load(appId, view);
          };
          return element(
            "li",
            { [key[0]]: String(key[1]) },
            ...(meta ? [element("span", { class: "meta", textContent: meta })] : []),
            element("span", { class: "text", textContent: text }),
            action.confirm ? confirmButton(action.label, act) : actionButton(action.label, act),
          );
        },
        empty,
      ),
    );
  return load;
}

const loadMessages = listPanel({
  id: "messages-panel",
  list: "#messages",
  path: (appId) => `/apps/${appId}/messages?limit=30`,
  items: (answer) => answer.messages,
  row: (message) => ({
    key: ["data-id", message.id],
    meta: `#${message.channel} · ${message.user ? message.user.uname : "system"} · ${when(message.created_at)}`,
    text: message.text,
  }),
  empty: "No messages yet.",
  action: { label: "Delete", confirm: true, path: (appId, message) => `/apps/${appId}/messages/${message.id}` },
});

const loadMutes = listPanel({
  id: "mutes-panel",
  list: "#mutes",
  path: (appId) => `/apps/${appId}/mutes`,
  items: (answer) => answer.mutes,
  row: (mute) => ({ key: ["data-auth-id", mute.auth_id], text: `${mute.uname}, by ${mute.muted_by}, until ${when(mute.expires_at)}` }),
  empty: "No one is muted.",
  action: { label: "Lift", confirm: false, path: (appId, mute) => `/apps/${appId}/mutes/${mute.auth_id}` },
});

const loadBans = listPanel({
  id: "bans-panel",
  list: "#bans",
  path: (appId) => `/apps/${appId}/bans`,
  items: (answer) => answer.bans,
  row: (ban) => ({
    key: ["data-auth-id", ban.auth_id],
    text: `user ${ban.auth_id}${ban.reason ? `: ${ban.reason}` : ""}, until ${ban.expires_at ? when(ban.expires_at) : "lifted"}`,
  }),
  empty: "No one is banned.",
  action: { label: "Lift", confirm: false, path: (appId, ban) => `/apps/${appId}/bans/${ban.auth_id}` },
});

const loadTokens = listPanel({
  id: "tokens-panel",
  list: "#tokens",
  path: (appId) => `/apps/${appId}/tokens?limit=100`,
  items: (answer) => answer.tokens.filter((token) => !token.revoked_at),
  row: (token) => ({ key: ["data-id", token.id], text: `${token.uname} (${token.role}) · ${token.prefix}… · expires ${when(token.expires_at)}` }),
  empty: "No live tokens.",
  action: { label: "Revoke", confirm: true, path: (appId, token) => `/apps/${appId}/tokens/${token.id}` },
});

const loadKeys = listPanel({
  id: "keys-panel",
  list: "#keys",
  path: (appId) => `/apps/${appId}/keys?limit=100`,
  items: (answer) => answer.keys.filter((key) => !key.revoked_at),
  row: (key) => ({
    key: ["data-id", key.id],
    text: `${key.prefix}… · ${key.scopes.join(", ")}${caller.kind === "app_key" && caller.key_id === key.id ? " · this key" : ""}`,
  }),
  empty: "No live keys.",
  action: { label: "Revoke", confirm: true, path: (appId, key) => `/apps/${appId}/keys/${key.id}` },
});

/**
 * The settings form is filled once per app, so that a refresh never overwrites what someone is typing. What it
 * was filled with, and for which app, is kept: saving sends only what changed (an unchanged shard count the
 * deployment set stays the deployment's), to the app the form shows.
 */
let settingsShown = null;

const loadSettings = (appId, view) =>
  settingsShown?.appId === appId
    ? Promise.resolve()
    : panel("settings-panel", view, () => api("GET", `/apps/${appId}`), (app) => {
        $("#app-title").textContent = `${app.name} (app ${app.id})`;
        const form = $("#settings");
        form.elements.name.value = app.name;
        form.elements.retention_days.value = String(app.retention_days);
        form.elements.shards.value = app.shard_mode === "fixed" ? String(app.shards) : "";
        form.elements.allowed_origins.value = app.allowed_origins.join("\n");
        settingsShown = { appId, values: settingsOf(form) };
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
  if (!settingsShown) return;
  const { appId, values: before } = settingsShown;
  const values = settingsOf($("#settings"));
  const change = Object.fromEntries(Object.entries(values).filter(([name, value]) => JSON.stringify(value) !== JSON.stringify(before[name])));
  await panel("settings-panel", generation, () => api("PATCH", `/apps/${appId}`, change), (app) => {
    settingsShown = { appId, values };
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
