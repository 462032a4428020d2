// The demo chat: a plain socket.io client of app 1 as one of the seeded demo users. Every piece of text from
// the server is put on the page with textContent, never as HTML.

const APP_ID = 1;
/** The seeded demo users' tokens; they exist only in a local database (`npm start`). */
const TOKENS = {
  owner: "00000000-0000-4000-8000-000000000001",
  mod: "00000000-0000-4000-8000-000000000002",
  alice: "00000000-0000-4000-8000-000000000003",
  bob: "00000000-0000-4000-8000-000000000004",
};

const $ = (id) => document.getElementById(id);
const state = { socket: null, channel: "lobby", channels: new Set(["lobby", "support"]), messages: [], online: new Map() };

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function setStatus(text, online) {
  $("status").textContent = text;
  $("status").dataset.state = online ? "online" : "offline";
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

function renderChannels() {
  const nav = $("channels");
  nav.replaceChildren(
    ...[...state.channels].map((channel) => {
      const button = element("button", `#${channel}`);
      button.type = "button";
      button.setAttribute("aria-pressed", String(channel === state.channel));
      button.addEventListener("click", () => {
        state.channel = channel;
        renderChannels();
        renderMessages();
      });
      return button;
    }),
  );
}

function renderMessages() {
  const list = $("messages");
  list.replaceChildren(
    ...state.messages
      .filter((message) => message.channel === state.channel)
      .map((message) => {
        const item = element("li");
        item.dataset.id = String(message.id);
        item.append(element("time", new Date(message.created_at).toLocaleTimeString()));
        if (message.user) {
          item.append(element("span", message.user.uname, "who"), element("span", message.user.role, "role"), element("span", message.text));
        } else {
          item.append(element("span", message.text, "system"));
        }
        return item;
      }),
  );
  list.scrollTop = list.scrollHeight;
}

function addMessage(message) {
  if (state.messages.some((known) => known.id === message.id)) return;
  state.messages.push(message);
  if (!state.channels.has(message.channel)) {
    state.channels.add(message.channel);
    renderChannels();
  }
  renderMessages();
}

function renderOnline() {
  $("online").replaceChildren(...[...state.online.values()].map((user) => element("li", `${user.uname} (${user.role})`)));
}

function prependFeed(id, text) {
  const list = $(id);
  list.prepend(element("li", text));
  while (list.children.length > 8) list.lastChild.remove();
}

function connect(user) {
  state.socket?.disconnect();
  state.messages = [];
  state.online.clear();
  renderMessages();
  renderOnline();
  showError("");
  for (const button of document.querySelectorAll("[data-user]")) button.setAttribute("aria-pressed", String(button.dataset.user === user));

  // Same origin; socket.io-client starts on long-polling and upgrades to WebSocket.
  const socket = io({ query: { app_id: APP_ID } });
  state.socket = socket;
  setStatus("Connecting…", false);

  socket.on("connect", () => {
    const request = { app_id: APP_ID, subscriptions: ["CHAT", "BETS", ...(TOKENS[user] ? ["DEPOSITS"] : [])], access_token: TOKENS[user] };
    socket.emit("auth", request, (error, response) => {
      if (error) return showError(`auth failed: ${error}`);
      setStatus(response.user ? `Online as ${response.user.uname} (${response.user.role})` : "Online, read only", true);
      for (const [uname, member] of Object.entries(response.chat.userlist)) state.online.set(uname, member);
      renderOnline();
      response.chat.messages.forEach(addMessage);
      const canSend = Boolean(response.user);
      $("text").disabled = !canSend;
      $("composer").querySelector("button").disabled = !canSend;
      if (canSend) $("text").focus();
    });
  });
  socket.on("disconnect", (reason) => setStatus(`Disconnected (${reason})`, false));
  socket.on("client_error", (text) => showError(text));
  socket.on("new_message", addMessage);
  socket.on("message_deleted", ({ id }) => {
    state.messages = state.messages.filter((message) => message.id !== id);
    renderMessages();
  });
  socket.on("user_joined", (member) => {
    state.online.set(member.uname, member);
    renderOnline();
  });
  socket.on("user_left", ({ uname }) => {
    state.online.delete(uname);
    renderOnline();
  });
  const deposit = (kind) => ({ balance, diff }) => {
    $("balance").textContent = `Balance ${balance.toLocaleString()} sat`;
    $("balance").classList.remove("muted");
    prependFeed("deposits", `${diff >= 0 ? "+" : ""}${diff.toLocaleString()} sat ${kind}`);
  };
  socket.on("unconfirmed_balance_change", deposit("(unconfirmed)"));
  socket.on("balance_change", deposit("(confirmed)"));
  socket.on("new_bet", (bet) => prependFeed("bets", `${bet.uname} bet ${bet.wager.toLocaleString()}, profit ${bet.profit.toLocaleString()}`));
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim() || !state.socket) return;
  state.socket.emit("new_message", { text, channel: state.channel }, (error) => {
    if (error) return showError(`Not sent: ${error}`);
    showError("");
    $("text").value = "";
  });
});

for (const button of document.querySelectorAll("[data-user]")) button.addEventListener("click", () => connect(button.dataset.user));
renderChannels();

const preset = new URLSearchParams(location.search).get("user");
if (preset && (preset in TOKENS || preset === "anonymous")) connect(preset);
