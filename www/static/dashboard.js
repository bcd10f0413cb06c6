// The fleet dashboard (GET /): hosts from /v1/hosts, one page of the fleet's
// builds from /v1/builds with the filters applied by the server. Both are
// polled with If-None-Match, so an unchanged fleet costs a 304 and no redraw.
import {every, get} from './api.js';
import {setupSignIn} from './signin.js';
import {buildSeconds, byId, durationText, el, say, stateBadge, submitterOf, timeElement} from './ui.js';

const PAGE = 50;
const FILTERS = ['state', 'host', 'arch', 'release', 'type'];

const view = {offset: 0, filters: {}};
const hostsCache = {};
const buildsCache = {};
let buildsPoll = null;
let firstRender = true;

function readLocation() {
    const params = new URLSearchParams(location.search);
    for (const key of FILTERS) {
        view.filters[key] = params.get(key) || '';
    }
    view.offset = Math.max(0, parseInt(params.get('offset') || '0', 10) || 0);
}

function writeLocation() {
    const params = new URLSearchParams();
    for (const key of FILTERS) {
        if (view.filters[key]) {
            params.set(key, view.filters[key]);
        }
    }
    if (view.offset) {
        params.set('offset', view.offset);
    }
    const query = params.toString();
    history.replaceState(null, '', query ? `/?${query}` : '/');
}

function buildsUrl() {
    const params = new URLSearchParams({order: 'newest', limit: PAGE, offset: view.offset});
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
    const health = host.healthy
        ? el('span', {class: 'health ok', text: 'healthy'})
        : el('span', {class: 'health down', text: 'down'});
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

function buildRow(build) {
    return el('tr', {},
        el('td', {}, el('a', {href: `/builds/${encodeURIComponent(build.id)}`, text: build.id})),
        el('td', {text: build.name || '—'}),
        el('td', {text: build.type}),
        el('td', {text: build.arch}),
        el('td', {text: build.release}),
        el('td', {}, stateBadge(build.state, build.result)),
        el('td', {text: submitterOf(build)}),
        el('td', {}, timeElement(build.submitted_at)),
        el('td', {text: durationText(buildSeconds(build))}));
}

function renderBuilds(body) {
    const rows = body.builds.map(buildRow);
    if (!rows.length) {
        rows.push(el('tr', {}, el('td', {colspan: 9, text: 'No builds match.'})));
    }
    byId('builds').tBodies[0].replaceChildren(...rows);
    const first = body.total ? view.offset + 1 : 0;
    const last = view.offset + body.builds.length;
    byId('page-info').textContent = `${first}–${last} of ${body.total}`;
    byId('builds-caption').textContent = `Builds ${first}–${last} of ${body.total}, newest first`;
    byId('prev').disabled = view.offset === 0;
    byId('next').disabled = body.next === null || body.next === undefined;
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

async function pollBuilds() {
    try {
        const body = await get(buildsUrl(), buildsCache);
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
    view.offset = 0;
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
        view.offset = Math.max(0, view.offset - PAGE);
        writeLocation();
        buildsPoll.now();
    });
    byId('next').addEventListener('click', () => {
        view.offset += PAGE;
        writeLocation();
        buildsPoll.now();
    });
}

setupSignIn();
readLocation();
setupControls();
buildsPoll = every(2000, pollBuilds);
every(5000, pollHosts);
