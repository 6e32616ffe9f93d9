// Storefront page: lists products (catalog API) and places orders (orders API).
// No build step, no third-party code, relative URLs only (the edge routes /catalog and /orders,
// as CloudFront does in AWS). The API key is typed by the user and kept in sessionStorage.
"use strict";

const API = {
  products: "catalog/products",
  product: (id) => `catalog/products/${encodeURIComponent(id)}`,
  orders: "orders",
  cancel: (id) => `orders/${encodeURIComponent(id)}/cancel`,
};
const KEY_STORAGE = "storefront.apiKey";
const PAGE_SIZE = 50;

const $ = (id) => document.getElementById(id);
const state = { products: new Map(), cursor: null };

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
    throw new Error(`Network error: ${err.message}`);
  }
  let body = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("application/json")) {
    body = await response.json().catch(() => null);
  }
  if (!response.ok) {
    throw new Error(describeError(response.status, body));
  }
  return body;
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

function addOrder(order) {
  const li = document.createElement("li");
  li.dataset.orderId = order.id;
  const text = document.createElement("span");
  const items = (order.items || []).map((i) => `${i.quantity} × ${state.products.get(i.product_id)?.name || i.product_id}`);
  text.append("Order ");
  const code = document.createElement("code");
  code.textContent = order.id;
  text.append(code, ` for ${order.customer_id}: ${items.join(", ")}`);
  const status = document.createElement("span");
  status.className = "order-status muted";
  status.textContent = order.status || "";
  li.append(text, status);
  if (order.status !== "confirmed") {
    $("orders").prepend(li);
    $("orders-empty").hidden = true;
    return;
  }
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "secondary";
  cancel.textContent = "Cancel";
  cancel.addEventListener("click", () => cancelOrder(order, li, cancel));
  li.append(cancel);
  $("orders").prepend(li);
  $("orders-empty").hidden = true;
}

async function cancelOrder(order, li, button) {
  clearMessage();
  button.disabled = true;
  try {
    const result = await call(API.cancel(order.id), { method: "POST", headers: { "X-Api-Key": apiKey() } });
    li.querySelector(".order-status").textContent = (result && result.status) || "cancelled";
    button.remove();
    showMessage(`Order ${order.id} cancelled.`, "ok");
    await Promise.all((order.items || []).map((i) => refreshProduct(i.product_id)));
  } catch (err) {
    button.disabled = false;
    showMessage(err.message, "error");
  }
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
  if (!Number.isInteger(quantity) || quantity < 1) problems.push("Quantity must be a whole number of at least 1.");
  if (problems.length) {
    showMessage(problems.join("\n"), "error");
    return;
  }
  const submit = $("order-submit");
  submit.disabled = true;
  try {
    const order = await call(API.orders, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-Api-Key": apiKey(),
        // A new key per submit: a retried request never creates a second order.
        "Idempotency-Key": crypto.randomUUID(),
      },
      body: JSON.stringify({ customer_id: customerId, items: [{ product_id: productId, quantity }] }),
    });
    addOrder(order);
    if (order.status === "rejected") {
      showMessage(`Order ${order.id} was rejected: ${order.rejection_reason || "no reason given"}.`, "error");
    } else {
      showMessage(`Order ${order.id} placed (${order.status || "ok"}).`, "ok");
    }
    await refreshProduct(productId);
  } catch (err) {
    showMessage(err.message, "error");
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
  });
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    showKeyState();
  });
  $("refresh").addEventListener("click", () => loadProducts().catch((err) => showMessage(err.message, "error")));
  $("more").addEventListener("click", () => loadProducts(true).catch((err) => showMessage(err.message, "error")));
  $("order-form").addEventListener("submit", placeOrder);
  loadProducts().catch((err) => showMessage(`Could not load products.\n${err.message}`, "error"));
}

document.addEventListener("DOMContentLoaded", init);
