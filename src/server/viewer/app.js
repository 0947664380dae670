// The cti trace viewer: the trace list with filters (live), one trace's waterfall, a span's
// details and its function's source with the branches taken and the values captured.
// Plain DOM, no build step; every text goes in through textContent.

const $ = (sel) => document.querySelector(sel);
const token = new URLSearchParams(location.search).get('token');

function api(path, params = {}) {
  const q = new URLSearchParams(params);
  if (token) q.set('token', token);
  const s = q.toString();
  return fetch(`${path}${s ? `?${s}` : ''}`).then(async (r) => {
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  });
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

const ns = (s) => BigInt(s);
function formatDuration(nanos) {
  const n = Number(nanos);
  if (n < 1e3) return `${n} ns`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} µs`;
  if (n < 1e9) return `${(n / 1e6).toFixed(2)} ms`;
  return `${(n / 1e9).toFixed(2)} s`;
}
const formatTime = (nanos) => new Date(Number(ns(nanos) / 1000000n)).toLocaleTimeString();

// ---- the trace list ----

const state = { traceId: null, spanId: null, spans: [] };

function filters() {
  const p = { limit: '200' };
  if ($('#service').value) p.service = $('#service').value;
  if ($('#name').value.trim()) p.name = $('#name').value.trim();
  if ($('#errors').checked) p.error = 'true';
  if ($('#min-duration').value) p.min_duration_ms = $('#min-duration').value;
  return p;
}

async function loadServices() {
  const { services } = await api('/api/services');
  const select = $('#service');
  const current = select.value;
  select.replaceChildren(el('option', { value: '', text: 'all' }), ...services.map((s) => el('option', { value: s, text: s })));
  select.value = services.includes(current) ? current : '';
}

async function loadTraces() {
  const { traces } = await api('/api/traces', filters());
  const body = $('#traces tbody');
  body.replaceChildren(...traces.map((t) => {
    const row = el('tr', { 'data-trace-id': t.trace_id, class: t.error_count ? 'error' : '' },
      el('td', { text: t.root_name }), el('td', { text: t.service }), el('td', { text: String(t.span_count) }),
      el('td', { text: String(t.error_count) }), el('td', { text: formatDuration(t.duration_ns) }), el('td', { text: formatTime(t.start_time_unix_nano) }));
    if (t.trace_id === state.traceId) row.classList.add('selected');
    row.addEventListener('click', () => { location.hash = `trace=${t.trace_id}`; });
    return row;
  }));
  $('#empty').hidden = traces.length > 0;
}

let pending = null;
function refreshSoon() {
  clearTimeout(pending);
  pending = setTimeout(() => { loadServices().then(loadTraces).catch(showError); }, 250);
}

function showError(e) {
  console.warn('cti viewer:', e);
}

// ---- one trace ----

function depthOf(spans) {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const depth = new Map();
  const of = (s) => {
    if (depth.has(s.span_id)) return depth.get(s.span_id);
    const parent = s.parent_span_id && byId.get(s.parent_span_id);
    const d = parent ? of(parent) + 1 : 0;
    depth.set(s.span_id, d);
    return d;
  };
  spans.forEach(of);
  return depth;
}

/** Spans in call order: each parent followed by its children, by start time. */
function treeOrder(spans) {
  const ids = new Set(spans.map((s) => s.span_id));
  const kids = new Map();
  for (const s of spans) {
    const p = s.parent_span_id && ids.has(s.parent_span_id) ? s.parent_span_id : null;
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(s);
  }
  const out = [];
  const walk = (p) => {
    for (const s of (kids.get(p) || []).sort((a, b) => (ns(a.start_time_unix_nano) < ns(b.start_time_unix_nano) ? -1 : 1))) {
      out.push(s);
      walk(s.span_id);
    }
  };
  walk(null);
  return out;
}

async function showTrace(traceId, spanId) {
  if (traceId !== state.traceId) {
    const { spans } = await api(`/api/traces/${traceId}`);
    state.traceId = traceId;
    state.spans = spans;
  }
  const spans = state.spans;
  const start = spans.reduce((m, s) => (ns(s.start_time_unix_nano) < m ? ns(s.start_time_unix_nano) : m), ns(spans[0].start_time_unix_nano));
  const end = spans.reduce((m, s) => (ns(s.end_time_unix_nano) > m ? ns(s.end_time_unix_nano) : m), 0n);
  const total = Number(end - start) || 1;
  const depth = depthOf(spans);
  $('#trace-pane').hidden = false;
  $('#trace-title').textContent = `${treeOrder(spans)[0].name} · ${spans.length} spans · ${formatDuration(end - start)}`;
  $('#waterfall').replaceChildren(...treeOrder(spans).map((s) => {
    const left = (Number(ns(s.start_time_unix_nano) - start) / total) * 100;
    const width = (Number(ns(s.end_time_unix_nano) - ns(s.start_time_unix_nano)) / total) * 100;
    const row = el('div', { class: `span-row${s.status.code === 'ERROR' ? ' error' : ''}`, 'data-span-id': s.span_id },
      Object.assign(el('span', { class: 'label', text: s.name, title: s.name }), { style: `padding-left:${0.25 + depth.get(s.span_id) * 0.9}rem` }),
      el('span', { class: 'track' }, Object.assign(el('span', { class: 'bar' }), { style: `left:${left}%;width:${width}%` })),
      el('span', { class: 'dur', text: formatDuration(ns(s.end_time_unix_nano) - ns(s.start_time_unix_nano)) }));
    row.addEventListener('click', () => { location.hash = `trace=${traceId}&span=${s.span_id}`; });
    return row;
  }));
  for (const row of document.querySelectorAll('#traces tbody tr')) row.classList.toggle('selected', row.dataset.traceId === traceId);
  const span = spans.find((s) => s.span_id === spanId) || treeOrder(spans)[0];
  await showSpan(span);
}

async function showSpan(span) {
  state.spanId = span.span_id;
  for (const row of document.querySelectorAll('.span-row')) row.classList.toggle('selected', row.dataset.spanId === span.span_id);
  const a = span.attributes;
  $('#details').hidden = false;
  $('#span-name').textContent = span.name;
  $('#span-where').textContent = `${a['code.file.path']}:${a['code.line.number']} · ${span.status.code}${span.status.message ? ` (${span.status.message})` : ''} · ${formatDuration(ns(span.end_time_unix_nano) - ns(span.start_time_unix_nano))}`;
  const rows = Object.entries(a).filter(([k]) => k.startsWith('cti.arg.') || k === 'cti.return' || k === 'cti.unfinished')
    .map(([k, v]) => el('tr', { 'data-key': k }, el('td', { text: k.startsWith('cti.arg.') ? `argument ${k.slice(8)}` : k === 'cti.return' ? 'returned' : 'unfinished' }), el('td', { text: String(v) })));
  if (span.dropped_events_count) rows.push(el('tr', {}, el('td', { text: 'dropped events' }), el('td', { text: String(span.dropped_events_count) })));
  $('#span-attributes tbody').replaceChildren(...rows);
  $('#span-events').replaceChildren(...span.events.map((e) => {
    const at = e.attributes;
    const text = e.name === 'cti.var' ? `line ${at['code.line.number']}: ${at['cti.var.name']} = ${at['cti.var.value']}`
      : e.name === 'cti.branch' ? `line ${at['code.line.number']}: ${at['cti.branch.kind']} taken`
        : e.name === 'cti.loop' ? `line ${at['code.line.number']}: ${at['cti.loop.kind']} loop, ${at['cti.loop.iterations']} iterations`
          : e.name === 'exception' ? `${at['exception.type']}: ${at['exception.message']}` : e.name;
    return el('li', { class: e.name === 'exception' ? 'exception' : '', text });
  }));
  const exception = span.events.find((e) => e.name === 'exception');
  $('#span-exception').hidden = !exception;
  $('#span-exception').textContent = exception ? String(exception.attributes['exception.stacktrace'] || `${exception.attributes['exception.type']}: ${exception.attributes['exception.message']}`) : '';
  await showSource(span);
}

/** The span's file, its function's line marked, the branch lines taken marked, values captured shown at their lines. */
async function showSource(span) {
  const path = span.attributes['code.file.path'];
  const fnLine = Number(span.attributes['code.line.number']);
  const pre = $('#source');
  pre.replaceChildren();
  $('#source-note').textContent = '';
  let text;
  try {
    ({ text } = await api('/api/source', { path, service: String(span.resource['service.name'] ?? '') }));
  } catch (e) {
    $('#source-note').textContent = `source not available: ${e.message}`;
    return;
  }
  if (state.spanId !== span.span_id) return; // another span was chosen meanwhile
  const taken = new Set(span.events.filter((e) => e.name === 'cti.branch').map((e) => Number(e.attributes['code.line.number'])));
  const values = new Map();
  for (const e of span.events.filter((x) => x.name === 'cti.var')) {
    const line = Number(e.attributes['code.line.number']);
    values.set(line, [...(values.get(line) || []), `${e.attributes['cti.var.name']} = ${e.attributes['cti.var.value']}`]);
  }
  const lines = text.split(/\r?\n/);
  pre.append(...lines.map((line, i) => {
    const n = i + 1;
    const row = el('span', { class: `line${n === fnLine ? ' function' : ''}${taken.has(n) ? ' taken' : ''}`, 'data-line': String(n) },
      el('span', { class: 'no', text: String(n) }), document.createTextNode(line));
    if (values.has(n)) row.append(el('span', { class: 'inline-value', text: values.get(n).join('; ') }));
    return row;
  }));
  const target = pre.querySelector(`[data-line="${Math.max(1, fnLine - 3)}"]`);
  if (target) pre.scrollTop = target.offsetTop - pre.offsetTop;
}

// ---- wiring ----

function route() {
  const p = new URLSearchParams(location.hash.slice(1));
  const traceId = p.get('trace');
  if (traceId) showTrace(traceId, p.get('span')).catch((e) => { $('#trace-title').textContent = `trace ${traceId}: ${e.message}`; });
}

for (const id of ['#service', '#errors']) $(id).addEventListener('change', () => loadTraces().catch(showError));
for (const id of ['#name', '#min-duration']) $(id).addEventListener('input', refreshSoon);
$('#filters').addEventListener('submit', (e) => e.preventDefault());
window.addEventListener('hashchange', route);

const live = new EventSource(`/api/live${token ? `?token=${encodeURIComponent(token)}` : ''}`);
live.addEventListener('open', () => $('#live').classList.add('on'));
live.addEventListener('error', () => $('#live').classList.remove('on'));
live.addEventListener('traces', (e) => {
  refreshSoon();
  const { trace_ids: ids } = JSON.parse(e.data);
  // The open trace got more spans: show them.
  if (state.traceId && ids.includes(state.traceId)) {
    const id = state.traceId;
    state.traceId = null;
    showTrace(id, state.spanId).catch(showError);
  }
});

loadServices().then(loadTraces).then(route).catch(showError);
