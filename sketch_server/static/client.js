// The wire: one WebSocket to the AI-Sketcher server, speaking protocol v1 (docs/protocol.md) in
// JSON text frames. It says hello (with the token kept for this tab), reconnects when the server
// goes away, and routes each reply to the request that asked. No DOM, no drawing.

import { WIRE } from "./wire.js";

export const CLIENT = `web-ai-sketcher/${WIRE.version}`;
const TOKEN_KEY = "ai-sketcher-token";
const RETRY_S = [1, 2, 4, 8, 10]; // waits between reconnection attempts, the last one repeating

/** The server's WebSocket address: ?server=ws://... if given, else this page's own server. */
export function serverUrl(location) {
  const given = new URLSearchParams(location.search).get("server");
  if (given) return given;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

function tabStorage() {
  try {
    return globalThis.sessionStorage; // throws where the page has no origin of its own
  } catch {
    return null;
  }
}

/** Talks to one server; events: status(state, detail), welcome(msg), error(msg). */
export class SketchClient {
  constructor(url, storage = tabStorage()) {
    this.url = url;
    this.storage = storage;
    this.ws = null;
    this.state = "idle"; // connecting | greeting | token | ready | unreachable | refused | lost
    this.welcome = null;
    this.requests = new Map(); // id -> {onStroke, onDone, onError}
    this.guides = new Map(); // id -> {resolve, reject}
    this.counter = 0;
    this.attempt = 0;
    this.timer = null;
    this.listeners = {};
  }

  on(event, fn) {
    (this.listeners[event] ||= []).push(fn);
    return this;
  }

  _emit(event, ...args) {
    for (const fn of this.listeners[event] || []) fn(...args);
  }

  _state(state, detail = {}) {
    this.state = state;
    this._emit("status", state, detail);
  }

  get token() {
    return this.storage?.getItem(TOKEN_KEY) || null;
  }

  /** Keep the token for this tab only, and say hello again with it. */
  setToken(token) {
    if (token) this.storage?.setItem(TOKEN_KEY, token);
    else this.storage?.removeItem(TOKEN_KEY);
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state === "token") this._hello();
    else this.connect();
  }

  /** Open the connection (again); any earlier one is dropped. */
  connect() {
    clearTimeout(this.timer);
    if (this.ws) {
      this.ws.onclose = this.ws.onerror = this.ws.onmessage = this.ws.onopen = null;
      this.ws.close();
    }
    let opened = false;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this._state("connecting");
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this._hello();
    };
    ws.onmessage = (e) => this._receive(e.data);
    ws.onerror = () => {}; // the browser has logged it; onclose says what happens next
    ws.onclose = (e) => this._closed(opened, e.code);
  }

  _hello() {
    this._state("greeting");
    const hello = { type: "hello", protocol: WIRE.protocol, client: CLIENT };
    if (this.token) hello.token = this.token;
    this._send(hello);
  }

  _send(msg) {
    this.ws.send(JSON.stringify(msg));
  }

  async _closed(opened, code) {
    this.ws = null;
    if (this.state === "token") return; // refused for its token: wait for the person to give one
    this.welcome = null;
    for (const [id, r] of this.requests) r.onError({ id, code: "disconnected", message: "" });
    for (const g of this.guides.values()) g.reject({ code: "disconnected", message: "" });
    this.requests.clear();
    this.guides.clear();
    const wait = RETRY_S[Math.min(this.attempt, RETRY_S.length - 1)];
    this.attempt += 1;
    let state = "lost";
    if (!opened) state = (await this._reachable()) ? "refused" : "unreachable";
    this._state(state, { wait, code });
    this.timer = setTimeout(() => this.connect(), wait * 1000);
  }

  /** Whether the server answers plain HTTP: if so, a failed handshake means it refused us. */
  async _reachable() {
    const http = new URL(this.url);
    http.protocol = http.protocol === "wss:" ? "https:" : "http:";
    http.pathname = "/";
    try {
      await fetch(http, { mode: "no-cors", cache: "no-store" });
      return true;
    } catch {
      return false;
    }
  }

  _receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // the server sends JSON to a JSON hello; anything else is not ours to read
    }
    if (this.state !== "ready") return this._greeting(msg);
    if (msg.type === "guide" || (msg.type === "error" && this.guides.has(msg.id))) {
      const g = this.guides.get(msg.id);
      this.guides.delete(msg.id);
      if (g) (msg.type === "guide" ? g.resolve : g.reject)(msg);
      return;
    }
    const r = this.requests.get(msg.id);
    if (msg.type === "stroke" && r) return r.onStroke(msg);
    if ((msg.type === "done" || msg.type === "error") && r) {
      this.requests.delete(msg.id);
      return msg.type === "done" ? r.onDone(msg) : r.onError(msg);
    }
    if (msg.type === "error" && msg.id == null && this.guides.size) {
      // A server from before `guide` answers it with an error that has no id.
      const [id, g] = this.guides.entries().next().value;
      this.guides.delete(id);
      return g.reject(msg);
    }
    if (msg.type === "error") this._emit("error", msg);
  }

  _greeting(msg) {
    if (msg.type === "welcome") {
      this.welcome = msg;
      this._state("ready", { welcome: msg });
      this._emit("welcome", msg);
    } else if (msg.type === "error" && msg.code === "unauthorized") {
      const hadToken = Boolean(this.token);
      this.storage?.removeItem(TOKEN_KEY);
      this._state("token", { wrong: hadToken, message: msg.message });
    } else if (msg.type === "error") {
      this._emit("error", msg);
    }
  }

  _id(prefix) {
    this.counter += 1;
    return `${prefix}${this.counter}`;
  }

  /** Send a suggest (fields without type and id); returns its id, or null when not connected. */
  suggest(fields, handlers) {
    if (this.state !== "ready") return null;
    const id = this._id("r");
    this.requests.set(id, handlers);
    this._send({ type: "suggest", id, ...fields });
    return id;
  }

  /** Send a trace of an image ({image: base64 PNG or JPEG, box}); answered like a suggest with
   * one alternative, through the same handlers. Returns its id, or null when not connected. */
  trace(fields, handlers) {
    if (this.state !== "ready") return null;
    const id = this._id("t");
    this.requests.set(id, handlers);
    this._send({ type: "trace", id, ...fields });
    return id;
  }

  /** Stop a request; its handlers still get its `done` (cancelled) or error. */
  cancel(id) {
    if (this.state === "ready" && this.requests.has(id)) this._send({ type: "cancel", id });
  }

  /** Ask for shadow-guide drawings: resolves with the `guide` reply, rejects with an `error`. */
  guide(fields) {
    if (this.state !== "ready") return Promise.reject({ code: "disconnected", message: "" });
    const id = this._id("g");
    return new Promise((resolve, reject) => {
      this.guides.set(id, { resolve, reject });
      this._send({ type: "guide", id, ...fields });
    });
  }
}
