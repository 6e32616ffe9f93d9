// Storefront page: lists products (catalog API) and places orders (orders API).
// No build step, no third-party code, relative URLs only (the edge routes /catalog and /orders,
// as CloudFront does in AWS). The API key is typed by the user and kept in sessionStorage, with
// the orders placed in this tab (they survive a reload) and the Idempotency-Key of an order whose
// outcome is not known yet (a retry reuses it, so it can never place a second order).
// Input limits (quantity, customer id) come from the orders API's OpenAPI schema.
"use strict";

const API = {
  products: "catalog/products",
  product: (id) => `catalog/products/${encodeURIComponent(id)}`,
  orders: "orders",
  order: (id) => `orders/${encodeURIComponent(id)}`,
  cancel: (id) => `orders/${encodeURIComponent(id)}/cancel`,
  ordersSchema: "orders/openapi.json",
};
const KEY_STORAGE = "storefront.apiKey";
const ORDERS_STORAGE = "storefront.orders";
const PENDING_STORAGE = "storefront.pendingOrder";
const PAGE_SIZE = 50;
// Answers after which the outcome of a POST /orders is unknown: retry with the same key.
// 0 is no answer at all (network error); every 5xx (500 included) may come after the order was stored.
const UNSETTLED_4XX = new Set([409, 429]);
const unsettled = (status) => status === 0 || status >= 500 || UNSETTLED_4XX.has(status);

const $ = (id) => document.getElementById(id);
const state = { products: new Map(), cursor: null, orders: [], limits: null };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

function showKeyState() {
  $("key-state").textContent = apiKey() ? "key set for this tab" : "no key: needed to order";
}

function showMessage(text, kind) {
  const box = $("message");
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
}

// Turns an API error body ({"detail": "..."} or {"detail": [{loc, msg}]}) into readable text.
function describeError(status, body) {
  let detail = "";
  if (body && typeof body.detail === "string") {
    detail = body.detail;
  } else if (body && Array.isArray(body.detail)) {
    detail = body.detail
      .map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`)
      .join("\n");
  }
  const hints = {
    401: "The API key is missing or wrong. Enter ORDERS_API_KEY in the field at the top.",
    413: "The request is too large.",
    429: "Too many requests; wait a moment.",
    503: "A service is unavailable right now; try again shortly.",
  };
  return [`Error ${status}`, detail, hints[status]].filter(Boolean).join("\n");
}

async function call(path, options = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options,
      headers: { Accept: "application/json", ...(options.headers || {}) },
    });
  } catch (err) {
    throw new ApiError(0, `Network error: ${err.message}`);
  }
  let body = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("application/json")) {
    body = await response.json().catch(() => null);
  }
  if (!response.ok) {
    throw new ApiError(response.status, withNames(describeError(response.status, body)));
  }
  return body;
}

// Product ids in a message (rejection reasons, errors) replaced by the products' names.
function withNames(text) {
  let out = String(text || "");
  for (const p of state.products.values()) out = out.split(p.id).join(`"${p.name}"`);
  return out;
}

// The orders API's own limits (quantity, customer id), read from its OpenAPI schema.
async function loadLimits() {
  const schemas = (await call(API.ordersSchema)).components.schemas;
  const quantity = schemas.OrderItemIn.properties.quantity;
  const customer = schemas.OrderCreate.properties.customer_id;
  state.limits = {
    minQuantity: Number(quantity.minimum),
    maxQuantity: Number(quantity.maximum),
    customerMax: Number(customer.maxLength),
    customerPattern: new RegExp(customer.pattern),
  };
  $("order-quantity").min = String(state.limits.minQuantity);
  $("order-quantity").max = String(state.limits.maxQuantity);
  $("order-customer").maxLength = state.limits.customerMax;
}

function formatPrice(product) {
  const amount = Number(product.price);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: product.currency }).format(amount);
  } catch {
    return `${product.price} ${product.currency}`;
  }
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderProducts() {
  const body = $("products").tBodies[0];
  body.replaceChildren();
  const select = $("order-product");
  const selected = select.value;
  select.replaceChildren();
  for (const p of state.products.values()) {
    const row = body.insertRow();
    row.dataset.productId = p.id;
    cell(row, p.name);
    cell(row, p.sku);
    cell(row, formatPrice(p), "num");
    cell(row, String(p.stock), p.stock > 0 ? "num stock" : "num stock out");
    const option = new Option(`${p.name} (${p.stock} in stock)`, p.id);
    option.disabled = p.stock < 1;
    select.add(option);
  }
  if (selected && state.products.has(selected)) select.value = selected;
  $("products-empty").hidden = state.products.size > 0;
  $("more").hidden = !state.cursor;
}

async function loadProducts(append = false) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (append && state.cursor) params.set("cursor", state.cursor);
  const page = await call(`${API.products}?${params}`);
  if (!append) state.products.clear();
  for (const p of page.items) state.products.set(p.id, p);
  state.cursor = page.next_cursor || null;
  renderProducts();
}

async function refreshProduct(id) {
  const p = await call(API.product(id));
  state.products.set(p.id, p);
  renderProducts();
}

function saveOrders() {
  sessionStorage.setItem(ORDERS_STORAGE, JSON.stringify(state.orders));
}

function loadOrders() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(ORDERS_STORAGE) || "[]");
    state.orders = Array.isArray(saved) ? saved : [];
  } catch {
    state.orders = [];
  }
}

function rememberOrder(order) {
  const summary = {
    id: order.id,
    customer_id: order.customer_id,
    status: order.status,
    items: (order.items || []).map((i) => ({ product_id: i.product_id, quantity: i.quantity })),
  };
  state.orders = [summary, ...state.orders.filter((o) => o.id !== order.id)];
  saveOrders();
  renderOrders();
}

function productName(id) {
  return state.products.get(id)?.name || id;
}

function renderOrders() {
  const list = $("orders");
  list.replaceChildren();
  for (const order of state.orders) {
    const li = document.createElement("li");
    li.dataset.orderId = order.id;
    const text = document.createElement("span");
    const items = order.items.map((i) => `${i.quantity} × ${productName(i.product_id)}`);
    const code = document.createElement("code");
    code.textContent = order.id;
    text.append("Order ", code, ` for ${order.customer_id}: ${items.join(", ")}`);
    const status = document.createElement("span");
    status.className = "order-status muted";
    status.textContent = order.status || "";
    li.append(text, status);
    // A cancel cut off half-way ("cancelling") is finished by the server; clicking again is safe.
    if (order.status === "confirmed" || order.status === "cancelling") {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "secondary";
      cancel.textContent = "Cancel";
      cancel.addEventListener("click", () => cancelOrder(order, cancel));
      li.append(cancel);
    }
    list.append(li);
  }
  $("orders-empty").hidden = state.orders.length > 0;
}

// Orders are private: their current status is read with the key, when there is one.
async function refreshOrders() {
  if (!apiKey()) return;
  for (const order of state.orders.filter((o) => o.status === "confirmed" || o.status === "cancelling")) {
    try {
      const current = await call(API.order(order.id), { headers: { "X-Api-Key": apiKey() } });
      order.status = current.status;
    } catch {
      // Shown as last known; the next reload tries again.
    }
  }
  saveOrders();
  renderOrders();
}

async function cancelOrder(order, button) {
  clearMessage();
  button.disabled = true;
  try {
    const result = await call(API.cancel(order.id), { method: "POST", headers: { "X-Api-Key": apiKey() } });
    rememberOrder(result);
    showMessage(`Order ${order.id} cancelled.`, "ok");
    await Promise.all(order.items.map((i) => refreshProduct(i.product_id)));
  } catch (err) {
    button.disabled = false;
    showMessage(err.message, "error");
  }
}

// One Idempotency-Key per order the user means to place: the same form content keeps its key
// until the API gave a definite answer, so clicking again after an error never orders twice.
function idempotencyKey(body) {
  const text = JSON.stringify(body);
  let pending = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING_STORAGE) || "null");
  } catch {
    pending = null;
  }
  if (!pending || pending.body !== text) {
    pending = { key: crypto.randomUUID(), body: text };
    sessionStorage.setItem(PENDING_STORAGE, JSON.stringify(pending));
  }
  return pending.key;
}

async function placeOrder(event) {
  event.preventDefault();
  clearMessage();
  const productId = $("order-product").value;
  const customerId = $("order-customer").value.trim();
  const quantity = Number($("order-quantity").value);
  const problems = [];
  if (!apiKey()) problems.push("Enter the API key (ORDERS_API_KEY) at the top first.");
  if (!productId) problems.push("Choose a product.");
  if (!customerId) problems.push("Enter a customer id.");
  const limits = state.limits || { minQuantity: 1, maxQuantity: Infinity, customerPattern: /./ };
  if (!Number.isInteger(quantity) || quantity < limits.minQuantity || quantity > limits.maxQuantity) {
    const most = Number.isFinite(limits.maxQuantity) ? ` and at most ${limits.maxQuantity}` : "";
    problems.push(`Quantity must be a whole number of at least ${limits.minQuantity}${most}.`);
  }
  if (customerId && !limits.customerPattern.test(customerId)) {
    problems.push("Customer id: letters, digits, '_' or '-' only, starting with a letter or digit.");
  }
  if (problems.length) {
    showMessage(problems.join("\n"), "error");
    return;
  }
  const submit = $("order-submit");
  submit.disabled = true;
  const body = { customer_id: customerId, items: [{ product_id: productId, quantity }] };
  try {
    const order = await call(API.orders, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-Api-Key": apiKey(),
        "Idempotency-Key": idempotencyKey(body),
      },
      body: JSON.stringify(body),
    });
    sessionStorage.removeItem(PENDING_STORAGE); // answered: the next order gets a new key
    rememberOrder(order);
    if (order.status === "rejected") {
      showMessage(`Order ${order.id} was rejected: ${withNames(order.rejection_reason || "no reason given")}.`, "error");
    } else {
      showMessage(`Order ${order.id} placed (${order.status || "ok"}).`, "ok");
    }
    await refreshProduct(productId);
  } catch (err) {
    if (unsettled(err.status)) {
      showMessage(`${err.message}\nPlace order again to retry: it is the same order, never a second one.`, "error");
    } else {
      sessionStorage.removeItem(PENDING_STORAGE); // refused for good: nothing was ordered
      showMessage(err.message, "error");
    }
  } finally {
    submit.disabled = false;
  }
}

function init() {
  showKeyState();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("api-key").value.trim();
    if (value) sessionStorage.setItem(KEY_STORAGE, value);
    $("api-key").value = "";
    showKeyState();
    refreshOrders();
  });
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    showKeyState();
  });
  $("refresh").addEventListener("click", () => loadProducts().catch((err) => showMessage(err.message, "error")));
  $("more").addEventListener("click", () => loadProducts(true).catch((err) => showMessage(err.message, "error")));
  $("order-form").addEventListener("submit", placeOrder);
  loadOrders();
  renderOrders();
  loadLimits().catch((err) => showMessage(`Could not read the orders API's limits.\n${err.message}`, "error"));
  loadProducts()
    .then(() => {
      renderOrders(); // product names are known now
      return refreshOrders();
    })
    .catch((err) => showMessage(`Could not load products.\n${err.message}`, "error"));
}

document.addEventListener("DOMContentLoaded", init);
