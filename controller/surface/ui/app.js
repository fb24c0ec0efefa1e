// The status page's script: polls the HTTP API (status, notes, metrics) every POLL_MS and redraws
// the page from what it answers. It only reads; the API decides who may (the token, when reads need
// one, is asked for here and kept in this tab's sessionStorage).
'use strict';

(function () {
  const POLL_MS = 1500;
  const TOKEN_KEY = 'auriga.apiToken';
  const NOTES_SHOWN = 10;
  const $ = (id) => document.getElementById(id);
  let polls = 0;
  let timer = null;

  class Unauthorized extends Error {}

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  }

  async function get(path, asText) {
    const headers = {};
    if (token()) headers.Authorization = 'Bearer ' + token();
    const r = await fetch(path, { headers, cache: 'no-store' });
    if (r.status === 401) throw new Unauthorized(path);
    if (!r.ok) {
      const e = new Error(path + ': HTTP ' + r.status);
      e.status = r.status;
      throw e;
    }
    return asText ? r.text() : r.json();
  }

  // An element with a class and text (textContent only: API text is never parsed as HTML).
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function phaseBadge(phase) {
    return el('span', 'phase phase-' + (phase || 'Unknown'), phase || 'Unknown');
  }

  function short(rev) {
    return rev ? rev.slice(0, 12) : '-';
  }

  // auriga_canary_weight_percent{deployment="NAME"} VALUE, by deployment.
  function weights(metrics) {
    const out = {};
    const re = /^auriga_canary_weight_percent\{[^}]*deployment="([^"]*)"[^}]*\}\s+(\S+)/;
    for (const line of (metrics || '').split('\n')) {
      const m = re.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
    return out;
  }

  function renderFleet(st) {
    const fp = $('fleet-phase');
    fp.textContent = st.phase || 'Unknown';
    fp.className = 'phase phase-' + (st.phase || 'Unknown');
    $('fleet-counts').textContent = (st.ready ?? 0) + '/' + (st.desired ?? 0) + ' ready';
    $('fleet-commit').textContent = st.commit || '(a specs folder)';
    $('fleet-summary').textContent = st.summary || '-';
    // Whatever the API says of the source (its last error, the head seen, the last fetch), as key: value.
    const src = Object.entries(st.source || {}).map(([k, v]) => k + ': ' + (typeof v === 'object' ? JSON.stringify(v) : v));
    $('fleet-source').textContent = src.length ? src.join('; ') : 'ok';
    $('fleet-observed').textContent = st.observedAt || '-';
  }

  function renderRoles(deps) {
    const roles = new Map();
    for (const d of deps) {
      const key = d.role || '(none)';
      if (!roles.has(key)) roles.set(key, { phases: new Map(), ready: 0, desired: 0 });
      const r = roles.get(key);
      r.phases.set(d.phase, (r.phases.get(d.phase) || 0) + 1);
      r.ready += d.ready || 0;
      r.desired += d.desired || 0;
    }
    const rows = [];
    for (const [role, r] of roles) {
      const tr = el('tr');
      tr.dataset.role = role;
      tr.append(el('td', 'role', role));
      const td = el('td', 'phases');
      for (const [phase, n] of r.phases) {
        const c = el('span', 'count');
        c.append(phaseBadge(phase), ' ' + n);
        td.append(c);
      }
      tr.append(td, el('td', 'ready', r.ready + '/' + r.desired));
      rows.push(tr);
    }
    $('roles').tBodies[0].replaceChildren(...rows);
  }

  function renderDeployments(deps, weight) {
    const rows = deps.map((d) => {
      const tr = el('tr');
      tr.dataset.deployment = d.name;
      const phase = el('td', 'phase');
      phase.append(phaseBadge(d.phase));
      const rev = el('td', 'revision', short(d.revision));
      rev.dataset.revision = d.revision || '';
      rev.title = d.revision || '';
      const traffic = d.strategy === 'Canary' || d.strategy === 'BlueGreen';
      const w = traffic && d.name in weight ? weight[d.name] + '%' : '-';
      const eps = (d.instances || []).map((i) => i.endpoint).filter(Boolean);
      tr.append(el('td', 'name', d.name), el('td', 'role', d.role || ''), phase, rev,
        el('td', 'ready', (d.ready ?? 0) + '/' + (d.desired ?? 0)),
        el('td', 'updated', d.updated ?? 0), el('td', 'strategy', d.strategy || ''),
        el('td', 'step', d.step || d.lastError || ''), el('td', 'weight', w),
        el('td', 'endpoints', eps.length ? eps.join(' ') : '-'));
      return tr;
    });
    $('deployments').tBodies[0].replaceChildren(...rows);
  }

  // On a Swarm: its nodes, this instance's tasks on each, and the tasks Swarm moved (latest last).
  function renderSwarm(st) {
    const nodes = st.nodes || [];
    const moves = st.moves || [];
    $('swarm').hidden = nodes.length === 0;
    const rows = nodes.map((n) => {
      const tr = el('tr');
      tr.dataset.node = n.name;
      tr.append(el('td', 'name', n.name), el('td', 'address', n.address || '-'), el('td', 'state', n.state || '-'),
        el('td', 'availability', n.availability || '-'), el('td', 'role', n.role || '-'),
        el('td', 'tasks', String(n.tasks ?? 0)));
      return tr;
    });
    $('nodes').tBodies[0].replaceChildren(...rows);
    const moved = moves.map((m) => {
      const tr = el('tr');
      tr.dataset.task = m.task;
      tr.append(el('td', 'when', m.at || ''), el('td', 'deployment', m.deployment), el('td', 'task', m.task),
        el('td', 'from', m.from), el('td', 'to', m.to), el('td', 'reason', m.reason));
      return tr;
    });
    $('moves').tBodies[0].replaceChildren(...moved);
    $('moves').hidden = moved.length === 0;
    $('moves-none').hidden = moved.length !== 0;
  }

  function renderProbes(deps) {
    const rows = [];
    for (const d of deps) {
      for (const i of d.instances || []) {
        if (!i.lastProbeFailure) continue;
        const tr = el('tr');
        tr.dataset.deployment = d.name;
        tr.append(el('td', 'deployment', d.name), el('td', 'container', i.name),
          el('td', 'failure', i.lastProbeFailure));
        rows.push(tr);
      }
    }
    $('probes').tBodies[0].replaceChildren(...rows);
    $('probes').hidden = rows.length === 0;
    $('probes-none').hidden = rows.length !== 0;
  }

  function renderNotes(notes, why) {
    const items = (notes || []).map((n) => {
      const li = el('li');
      li.dataset.commit = n.commit;
      const c = el('code', 'commit', short(n.commit));
      c.title = n.commit;
      li.append(c, ' ', el('span', 'summary', n.summary), el('span', 'when', n.writtenAt));
      return li;
    });
    $('notes').replaceChildren(...items);
    $('notes-none').textContent = why || 'No note written yet.';
    $('notes-none').hidden = items.length !== 0;
  }

  function showError(msg) {
    $('error').textContent = msg || '';
    $('error').hidden = !msg;
  }

  function askToken(why) {
    clearTimeout(timer);
    timer = null;
    $('token-why').textContent = why;
    $('token-form').hidden = false;
    $('forget').hidden = true;
    $('token').focus();
  }

  async function poll() {
    timer = null;
    try {
      const [st, notes, metrics] = await Promise.all([
        get('/api/v1/status'),
        get('/api/v1/notes?limit=' + NOTES_SHOWN).then((j) => ({ list: j.notes }),
          (e) => { if (e instanceof Unauthorized) throw e; return { why: e.status === 404 ? 'No notes: the specs come from a folder.' : String(e.message) }; }),
        get('/metrics', true).catch((e) => { if (e instanceof Unauthorized) throw e; return ''; }),
      ]);
      const deps = st.deployments || [];
      renderFleet(st);
      renderRoles(deps);
      renderDeployments(deps, weights(metrics));
      renderProbes(deps);
      renderSwarm(st);
      renderNotes(notes.list, notes.why);
      showError('');
      polls++;
      $('stamp').dataset.polls = String(polls);
      $('stamp').textContent = 'updated ' + new Date().toLocaleTimeString();
      $('forget').hidden = !token();
    } catch (e) {
      if (e instanceof Unauthorized) {
        const had = token() !== '';
        sessionStorage.removeItem(TOKEN_KEY);
        askToken(had ? 'The API refused that token: give the API token again.'
          : 'Reading the status needs the API token.');
        return;
      }
      showError('Cannot read the status: ' + e.message + ' (retrying)');
    }
    timer = setTimeout(poll, POLL_MS);
  }

  function start() {
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      $('token').value = '';
      $('token-form').hidden = true;
      if (!timer) poll();
    });
    $('forget').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      location.reload();
    });
    poll();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
