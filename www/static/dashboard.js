// The fleet dashboard (GET /): hosts from /v1/hosts, one page of the fleet's
// builds from /v1/builds with the filters applied by the server. Both are
// polled with If-None-Match, so an unchanged fleet costs a 304 and no redraw.
// Pages go by cursor: "Older" asks for the page after the last build shown
// (the answer's next_cursor), "Newer" goes back to the cursor before it.
import {every, get} from './api.js';
import {setupSignIn} from './signin.js';
import {buildSeconds, byId, durationText, el, say, stateBadge, submitterOf, timeElement} from './ui.js';

const PAGE = 50;
const FILTERS = ['state', 'host', 'arch', 'release', 'type'];

const view = {cursor: '', back: [], next: null, filters: {}};
const hostsCache = {};
const buildsCache = {};
let buildsPoll = null;
let firstRender = true;

function readLocation() {
    const params = new URLSearchParams(location.search);
    for (const key of FILTERS) {
        view.filters[key] = params.get(key) || '';
    }
    view.cursor = params.get('cursor') || '';
}

function writeLocation() {
    const params = new URLSearchParams();
    for (const key of FILTERS) {
        if (view.filters[key]) {
            params.set(key, view.filters[key]);
        }
    }
    if (view.cursor) {
        params.set('cursor', view.cursor);
    }
    const query = params.toString();
    history.replaceState(null, '', query ? `/?${query}` : '/');
}

function buildsUrl() {
    const params = new URLSearchParams({order: 'newest', limit: PAGE});
    if (view.cursor) {
        params.set('cursor', view.cursor);
    }
    for (const key of FILTERS) {
        if (view.filters[key]) {
            params.set(key, view.filters[key]);
        }
    }
    return `/v1/builds?${params}`;
}

// ---- hosts

const list = (items, none = 'any') => (items && items.length ? items.join(', ') : none);

function hostRow(host) {
    // status: up, down (with the error) or unknown (not probed yet); older
    // forwarders send only healthy.
    const status = host.status || (host.healthy ? 'up' : 'down');
    const health = status === 'up' ? el('span', {class: 'health ok', text: 'healthy'})
        : status === 'unknown' ? el('span', {class: 'health unknown', text: 'not yet probed'})
            : el('span', {class: 'health down', text: 'down', title: host.error || undefined});
    return el('tr', {},
        el('th', {scope: 'row'}, host.hostname || host.url),
        el('td', {}, health),
        el('td', {text: list(host.arches, '—')}),
        el('td', {text: list(host.releases)}),
        el('td', {text: list(host.image_types, '—')}),
        el('td', {class: 'num', text: host.running}),
        el('td', {class: 'num', text: host.queued}),
        el('td', {class: 'num', text: host.max_parallel}));
}

function setOptions(select, values) {
    const current = select.value;
    const wanted = [...new Set(values.filter(Boolean))].sort();
    if (current && !wanted.includes(current)) {
        wanted.push(current);
    }
    const have = [...select.options].slice(1).map((o) => o.value);
    if (have.join('\n') === wanted.join('\n')) {
        return;
    }
    select.replaceChildren(select.options[0], ...wanted.map((v) => el('option', {value: v, text: v})));
    select.value = current;
}

function renderHosts(hosts) {
    byId('hosts').tBodies[0].replaceChildren(...hosts.map(hostRow));
    const down = hosts.filter((h) => !h.healthy).length;
    say(byId('hosts-status'), down ? `${down} of ${hosts.length} hosts are down.` : '', down ? 'warning' : '');
    setOptions(byId('f-host'), hosts.map((h) => h.hostname));
    setOptions(byId('f-arch'), hosts.flatMap((h) => h.arches || []));
    setOptions(byId('f-release'), hosts.flatMap((h) => h.releases || []));
    setOptions(byId('f-type'), hosts.flatMap((h) => h.image_types || []));
}

async function pollHosts() {
    try {
        const body = await get('/v1/hosts', hostsCache);
        if (hostsCache.changed) {
            renderHosts(body.hosts);
        }
    } catch (error) {
        say(byId('hosts-status'), `Could not read the hosts: ${error.message}`, 'error');
    }
}

// ---- builds

// A row is cloned from the page's <template> and filled with textContent;
// rows are kept by build id and redrawn only when what they show changed,
// so a poll that brings one changed build touches one row.
const rowTemplate = byId('build-row').content.firstElementChild;
let shownRows = new Map();  // build id -> {row, shows}

function rowShows(build) {
    return [build.name, build.type, build.arch, build.release, build.state, build.result,
        submitterOf(build), build.submitted_at, durationText(buildSeconds(build))].join('\n');
}

function fillRow(row, build) {
    const cells = row.cells;
    const link = cells[0].firstElementChild;
    link.href = `/builds/${encodeURIComponent(build.id)}`;
    link.textContent = build.id;
    cells[1].textContent = build.name || '—';
    cells[2].textContent = build.type;
    cells[3].textContent = build.arch;
    cells[4].textContent = build.release;
    cells[5].replaceChildren(stateBadge(build.state, build.result));
    cells[6].textContent = submitterOf(build);
    cells[7].replaceChildren(timeElement(build.submitted_at));
    cells[8].textContent = durationText(buildSeconds(build));
}

function renderRows(builds) {
    const tbody = byId('builds').tBodies[0];
    const next = new Map();
    const rows = builds.map((build) => {
        const shows = rowShows(build);
        const known = shownRows.get(build.id) || {row: rowTemplate.cloneNode(true), shows: null};
        if (known.shows !== shows) {
            fillRow(known.row, build);
            known.shows = shows;
        }
        next.set(build.id, known);
        return known.row;
    });
    shownRows = next;
    if (!rows.length) {
        rows.push(el('tr', {}, el('td', {colspan: 9, text: 'No builds match.'})));
    }
    const same = rows.length === tbody.rows.length && rows.every((row, i) => tbody.rows[i] === row);
    if (!same) {
        const fragment = document.createDocumentFragment();
        fragment.append(...rows);
        tbody.replaceChildren(fragment);
    }
}

function renderBuilds(body) {
    renderRows(body.builds);
    // Where the page is counts from the newest only when we paged here; a
    // page opened from its URL says how many it shows.
    const known = !view.cursor || view.back.length > 0;
    const skipped = view.back.length * PAGE;
    const first = body.builds.length ? skipped + 1 : 0;
    const last = skipped + body.builds.length;
    const shows = known ? `${first}–${last}` : `${body.builds.length} older`;
    byId('page-info').textContent = shows;
    byId('builds-caption').textContent = `Builds ${shows}, newest first`;
    view.next = body.next_cursor || null;
    byId('prev').disabled = !view.cursor;
    byId('next').disabled = !view.next;
    const unreachable = body.unreachable || [];
    say(byId('builds-status'),
        unreachable.length ? `Not shown: the builds of ${unreachable.join(', ')} (not answering).` : '',
        unreachable.length ? 'warning' : '');
    if (firstRender) {
        firstRender = false;
        // The browser test reads this mark: the dashboard's first useful paint.
        performance.mark('imagebuild-builds-rendered');
    }
}

// index.html asks for the first builds page while the page loads (the
// forwarder puts this view's URL into its <link rel="preload">): the first
// poll takes that answer when it is for the same URL.
let preload = document.querySelector('link[rel="preload"][as="fetch"]');

async function pollBuilds() {
    const url = buildsUrl();
    const preloaded = Boolean(preload) && preload.href === new URL(url, location.href).href;
    preload = null;
    try {
        const body = await get(url, buildsCache, preloaded);
        if (buildsCache.changed) {
            renderBuilds(body);
        }
    } catch (error) {
        say(byId('builds-status'), `Could not read the builds: ${error.message}`, 'error');
    }
}

function refilter() {
    const form = byId('filters');
    for (const key of FILTERS) {
        view.filters[key] = form.elements[key].value;
    }
    view.cursor = '';
    view.back = [];
    writeLocation();
    buildsPoll.now();
}

function setupControls() {
    const form = byId('filters');
    for (const key of FILTERS) {
        const select = form.elements[key];
        if (view.filters[key] && ![...select.options].some((o) => o.value === view.filters[key])) {
            select.append(el('option', {value: view.filters[key], text: view.filters[key]}));
        }
        select.value = view.filters[key];
        select.addEventListener('change', refilter);
    }
    form.addEventListener('reset', () => setTimeout(refilter));
    form.addEventListener('submit', (event) => event.preventDefault());
    byId('prev').addEventListener('click', () => {
        view.cursor = view.back.pop() || '';
        writeLocation();
        buildsPoll.now();
    });
    byId('next').addEventListener('click', () => {
        if (!view.next) {
            return;
        }
        view.back.push(view.cursor);
        view.cursor = view.next;
        writeLocation();
        buildsPoll.now();
    });
}

setupSignIn();
readLocation();
setupControls();
buildsPoll = every(2000, pollBuilds);
every(5000, pollHosts);
