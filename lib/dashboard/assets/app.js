// The dashboard page's script: served from the same origin (the Content-Security-Policy allows no
// inline script), it fetches the JSON API and follows /api/stream. Devices come from the server a page
// at a time, filtered, searched and sorted there: the page never downloads a whole task. Everything
// that came from a push is put in the page as text (textContent), never as markup.
'use strict';

const $ = (selector) => document.querySelector(selector);
const PAGE = 100;
let tasks = [];
let selected = null;
let detail = null;
let offset = 0;

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function rowOf(values, className) {
  const row = document.createElement('tr');
  if (className) row.className = className;
  row.append(...values.map((value) => (value instanceof Node ? value : cell(value))));
  return row;
}

const number = (n) => n.toLocaleString('en-US');
const time = (iso) => (iso ? new Date(iso).toLocaleString() : '');
const duration = (ms) => {
  const minutes = Math.round(ms / 60_000);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h${minutes % 60 === 0 ? '' : ` ${minutes % 60} min`}`;
};
const largest = (counts, n = 3) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, count]) => `${key} × ${number(count)}`)
    .join(', ');

function bar(task) {
  const box = document.createElement('div');
  box.className = 'bar';
  const parts = [
    ['succeeded', task.succeeded],
    ['failed', task.failed],
    ['progress', task.inProgress - task.stale],
    ['stale', task.stale],
  ];
  for (const [name, count] of parts) {
    if (count === 0) continue;
    const span = document.createElement('span');
    span.className = name;
    span.title = `${name === 'progress' ? 'in progress' : name}: ${number(count)}`;
    span.style.width = `${(100 * count) / task.devices}%`;
    box.append(span);
  }
  return box;
}

// The estimate leaves out the silent devices, and says so: an end time alone passed with 2 % of a fleet silent.
const butSilent = (task) => (task.silent > 0 ? ` (all but ${number(task.silent)} silent)` : '');
const pace = (task) => (task.resultsPerMinute > 0 ? `${number(Math.round(task.resultsPerMinute * 10) / 10)}/min${task.estimatedEnd ? `, ends ~${time(task.estimatedEnd)}${butSilent(task)}` : ''}` : '');
const silentFor = (task) => `silent for over ${duration(task.staleAfterMs)}`;

function renderTasks() {
  $('#empty').hidden = tasks.length > 0;
  $('#tasks').hidden = tasks.length === 0;
  $('#exports').hidden = tasks.length === 0;
  $('#tasks tbody').replaceChildren(
    ...tasks.map((task) => {
      const barCell = document.createElement('td');
      barCell.append(bar(task));
      const row = rowOf([
        task.operationId,
        task.kind,
        cell(number(task.devices), 'n'),
        cell(task.expected === null ? '' : number(task.expected), 'n'),
        cell(number(task.succeeded), 'n'),
        cell(number(task.failed), 'n'),
        cell(number(task.reconciled), 'n'),
        cell(number(task.inProgress), 'n'),
        Object.assign(cell(number(task.stale), 'n'), { title: silentFor(task) }),
        barCell,
        cell(largest(task.errorCodes), 'reasons'),
        cell(pace(task), 'reasons'),
        time(task.lastPush),
      ]);
      row.dataset.operationId = task.operationId;
      if (task.operationId === selected) row.className = 'selected';
      row.addEventListener('click', () => select(task.operationId));
      return row;
    }),
  );
}

function renderHealth(health) {
  const box = $('#health');
  const journal = health.journal;
  const figures = journal
    ? `Journal: ${number(journal.pending)} pending (${number(journal.retrying)} retrying), ${number(journal.dead)} dead, ${number(journal.invalid)} invalid.`
    : 'No journal: delivery is at most once.';
  box.replaceChildren(document.createTextNode(figures), ...health.actions.map((action) => Object.assign(document.createElement('div'), { textContent: action })));
  box.className = health.actions.length > 0 ? 'health warn' : 'health';
}

function renderVersions(versions) {
  $('#versions').hidden = versions.length === 0;
  $('#versions tbody').replaceChildren(
    ...versions.map((v) => rowOf([v.sourceVersion, v.targetVersion, cell(number(v.succeeded), 'n'), cell(number(v.failed), 'n'), cell(`${Math.round((100 * v.succeeded) / (v.succeeded + v.failed))}%`, 'n')])),
  );
}

// The query the device table shows, as URL parameters: the same for the page of devices and the CSV.
function deviceQuery() {
  const params = new URLSearchParams();
  const filter = $('#filter').value || 'all';
  if (filter !== 'all') params.set('filter', filter);
  const search = $('#search').value.trim();
  if (search) params.set('search', search);
  const [sort, order] = ($('#sort').value || 'lastSeen:desc').split(':');
  params.set('sort', sort);
  params.set('order', order);
  return params;
}

function renderDetail() {
  $('#detail').hidden = detail === null;
  if (detail === null) return;
  const { task, errorTexts } = detail;
  $('#detail-title').textContent = `Task ${task.operationId}`;
  const of = task.expected === null ? '' : ` of ${number(task.expected)} expected${task.platform ? ' by the platform' : ''}`;
  const silent = task.notReported ? `, ${number(task.notReported)} of the listed devices never reported` : '';
  $('#detail-summary').textContent =
    `${number(task.devices)} devices reported${of}${silent}: ${number(task.succeeded)} succeeded, ${number(task.failed)} failed ` +
    `(${number(task.reconciled)} of these filled in from the platform), ${number(task.inProgress)} in progress (${number(task.stale)} stale: ${silentFor(task)}). ` +
    `Started ${time(task.firstSeen)}, ${duration(task.durationMs)} so far; last push ${task.lastPush ? time(task.lastPush) : 'none'}${task.lastFilled ? `, last filled in ${time(task.lastFilled)}` : ''}; ` +
    `${task.resultsPerMinute > 0 ? `${number(Math.round(task.resultsPerMinute * 10) / 10)} results pushed a minute` : 'no result pushed in the last ten minutes'}` +
    `${task.estimatedEnd ? `, ending about ${time(task.estimatedEnd)}${butSilent(task)}` : ''}. Target versions: ${largest(task.targetVersions) || 'none yet'}.`;
  $('#reasons tbody').replaceChildren(
    ...Object.entries(task.errorCodes)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([code, count]) => {
        const row = rowOf([code, errorTexts[code] ?? '', cell(number(count), 'n')]);
        row.addEventListener('click', () => setFilter(`errorCode:${code}`));
        return row;
      }),
  );
  $('#reasons').hidden = Object.keys(task.errorCodes).length === 0;
  renderPlatform(task.platform, detail.neverReported);
  const select = $('#filter');
  const current = select.value || 'all';
  const options = [
    ['all', 'all'],
    ['succeeded', 'succeeded'],
    ['failed', 'failed'],
    ['reconciled', 'reconciled'],
    ['in progress', 'in progress'],
    ['stale', 'stale'],
    ...Object.keys(task.states).map((state) => [`state:${state}`, `state: ${state}`]),
    ...Object.keys(task.errorCodes).slice(0, 50).map((code) => [`errorCode:${code}`, `error: ${code}`]),
    ...task.versions.map((v) => v.sourceVersion).filter((v, i, all) => all.indexOf(v) === i).map((v) => [`sourceVersion:${v}`, `from version: ${v}`]),
  ];
  if (!options.some(([value]) => value === current)) options.push([current, current]);
  select.replaceChildren(...options.map(([value, label]) => Object.assign(document.createElement('option'), { value, textContent: label })));
  select.value = current;
}

// With a list given to dashboard.expect(): the listed devices nothing arrived from (the first 100).
function renderUnreported(page, fromPlatform) {
  $('#unreported').hidden = !page || page.total === 0;
  if (!page) return;
  const what = fromPlatform ? 'devices waiting on the platform never sent a push' : 'listed devices never reported';
  $('#unreported-title').textContent = `${number(page.total)} ${what}${page.total > page.deviceIds.length ? ` (the first ${number(page.deviceIds.length)} shown)` : ''}`;
  $('#unreported-devices').textContent = page.deviceIds.join(', ');
}

function failureText(device) {
  const texts = [device.errorText, device.description, device.resultDesc, device.statusDesc === device.errorCode ? null : device.statusDesc];
  return texts.filter((text) => text).join(' · ');
}

function renderDevices(page) {
  $('#csv').href = `api/tasks/${encodeURIComponent(selected)}/devices.csv?${deviceQuery()}`;
  const last = Math.min(page.offset + page.devices.length, page.total);
  $('#page').textContent = page.total === 0 ? 'no device matches' : `${number(page.offset + 1)}–${number(last)} of ${number(page.total)}`;
  $('#previous').disabled = page.offset === 0;
  $('#next').disabled = last >= page.total;
  $('#devices tbody').replaceChildren(
    ...page.devices.map((device) =>
      rowOf([
        device.deviceId,
        device.state ?? '',
        device.result === null ? (device.stale ? 'stale' : 'in progress') : device.reconciled ? `${device.result} (reconciled)` : device.result,
        device.errorCode ?? '',
        failureText(device),
        device.sourceVersion ?? '',
        device.curVersion ?? '',
        device.targetVersion ?? '',
        device.upgradeTime ?? '',
        time(device.lastSeen),
      ]),
    ),
  );
}

// With a reconciler: the platform's count beside what was received, and the devices that never reported.
function renderPlatform(platform, never) {
  $('#platform').hidden = !platform;
  $('#never').hidden = !never || never.missing.length + never.stuck.length === 0;
  if (!platform) return;
  $('#platform').textContent =
    `The platform (checked ${time(platform.checkedAt)}, task ${platform.status}): ${number(platform.expected)} devices expected, ` +
    `${number(platform.received)} results pushed, ${number(platform.filledIn)} filled in from the platform, ` +
    `${number(platform.missing)} finished with no result here yet, ${number(platform.waiting)} still waiting (${number(platform.stuck)} stuck).`;
  if (!never) return;
  const rows = [
    ...never.missing.map((device) => [device.deviceId, device.subOperationId, `${device.result}, no result here`, device.stopTime ?? '']),
    ...never.stuck.map((device) => [device.deviceId, device.subOperationId, `${device.status} (stuck)`, device.since ?? '']),
  ];
  const total = platform.missing + platform.stuck;
  $('#never-title').textContent = `${number(total)} devices never reported${rows.length < total ? ` (the first ${number(rows.length)} shown)` : ''}`;
  $('#never-devices tbody').replaceChildren(...rows.map((values) => rowOf(values)));
}

async function json(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

async function loadDetail() {
  if (selected === null) return;
  const id = encodeURIComponent(selected);
  const [found, page] = await Promise.all([json(`api/tasks/${id}`).catch(() => null), json(`api/tasks/${id}/devices?${deviceQuery()}&offset=${offset}&limit=${PAGE}`).catch(() => null)]);
  detail = found;
  renderDetail();
  if (page !== null) renderDevices(page);
  // The listed devices never heard from; without a list, those the platform says still wait (read through the reconciler).
  const unheard = found && (found.task.notReported || (found.task.notReported === null && found.task.platform && found.task.platform.expected > found.task.devices));
  renderUnreported(unheard ? await json(`api/tasks/${id}/not-reported?limit=100`).catch(() => null) : null, found && found.task.notReported === null);
}

async function load(names) {
  const [list, health, versions] = await Promise.all([json('api/tasks'), json('api/health'), json('api/versions')]);
  tasks = list;
  renderTasks();
  renderHealth(health);
  renderVersions(versions);
  // A change that names other tasks only: the selected task's devices are as shown.
  if (names === null || names === undefined || names.includes(selected)) await loadDetail();
}

function select(operationId) {
  selected = operationId;
  offset = 0;
  renderTasks();
  loadDetail().catch(() => {});
}

function setFilter(value) {
  $('#filter').value = value;
  if ($('#filter').value !== value) $('#filter').append(Object.assign(document.createElement('option'), { value, textContent: value }));
  $('#filter').value = value;
  offset = 0;
  loadDetail().catch(() => {});
}

// At most one reload in flight, and one more queued (with the union of the tasks named meanwhile).
let loading = null;
let queued;
function refresh(names = null) {
  if (loading) {
    queued = queued === undefined ? names : queued === null || names === null ? null : [...queued, ...names];
    return;
  }
  loading = load(names)
    .catch(() => {})
    .finally(() => {
      loading = null;
      if (queued !== undefined) {
        const next = queued;
        queued = undefined;
        refresh(next);
      }
    });
}

let typing;
$('#search').addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(() => {
    offset = 0;
    loadDetail().catch(() => {});
  }, 250);
});
for (const id of ['#filter', '#sort']) {
  $(id).addEventListener('change', () => {
    offset = 0;
    loadDetail().catch(() => {});
  });
}
$('#previous').addEventListener('click', () => {
  offset = Math.max(0, offset - PAGE);
  loadDetail().catch(() => {});
});
$('#next').addEventListener('click', () => {
  offset += PAGE;
  loadDetail().catch(() => {});
});

// Live updates. The server ends a stream after a few minutes (EventSource reconnects by itself) and
// refuses one when too many are open (EventSource then gives up): reconnect later, and poll meanwhile.
const live = $('#live');
let polling;
function connect() {
  const stream = new EventSource('api/stream');
  stream.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'live';
    clearInterval(polling);
    polling = undefined;
    refresh();
  });
  stream.addEventListener('change', (event) => {
    let names = null;
    try {
      names = JSON.parse(event.data).tasks;
    } catch {
      names = null;
    }
    // Spread over a fifth of a second: every tab hears the change at once, and the receiver
    // answering the platform should not get every tab's questions at the same moment.
    setTimeout(() => refresh(names), Math.random() * 200);
  });
  stream.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
    if (stream.readyState !== EventSource.CLOSED) return;
    polling ??= setInterval(refresh, 5000);
    setTimeout(connect, 10_000 + Math.random() * 5000);
  });
}
connect();
refresh();
