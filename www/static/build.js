// One build (GET /builds/<id>): its record from /v1/builds/<id> (polled with
// If-None-Match until it ends), the live log from /monitor/<id> as
// Server-Sent Events (EventSource resumes with Last-Event-ID after a
// reconnect: no line lost or repeated), artifacts, the kickstart, Cancel.
import {ApiError, every, explainAuth, get, token, write} from './api.js';
import {chartLibrary, drawChart} from './charts.js';
import {setupSignIn, signedInAs} from './signin.js';
import {buildSeconds, byId, durationText, el, say, sizeText, stateBadge, submitterOf, timeElement} from './ui.js';

const id = byId('main').dataset.build;
const path = `/v1/builds/${encodeURIComponent(id)}`;
const cache = {};
let poll = null;
let current = null;

// ---- the record

function fact(term, ...value) {
    return [el('dt', {text: term}), el('dd', {}, ...value)];
}

// What the unit used; a figure the host cannot give is null: "not available".
function resourcesText(resources) {
    const r = resources || {};
    const figure = (value, format) => (value === null || value === undefined ? 'not available' : format(value));
    const seconds = (usec) => (usec < 1e6 ? `${Math.round(usec / 1000)} ms` : durationText(usec / 1e6));
    return `CPU ${figure(r.cpu_usec, seconds)}, memory peak ${figure(r.memory_peak_bytes, sizeText)}, ` +
        `IO read ${figure(r.io_read_bytes, sizeText)}, IO write ${figure(r.io_write_bytes, sizeText)}, ` +
        `wall ${figure(r.wall_usec, seconds)}`;
}

// The failure class next to the reason: "infra: interrupted: host restarted".
function failureFacts(build) {
    if (!build.failure_class && !build.reason) {
        return [];
    }
    const why = el('span', {class: 'reason'});
    if (build.failure_class) {
        why.append(el('strong', {class: 'failure-class', text: build.failure_class}), build.reason ? ': ' : '');
    }
    why.append(build.reason || '');
    return fact('Reason', why);
}

function attemptFacts(build) {
    const attempts = build.attempts || [];
    if (!attempts.length) {
        return [];
    }
    const items = attempts.map((a) => el('li', {text: `Attempt ${a.attempt}: ${a.state}` +
        `${a.failure_class ? ` (${a.failure_class})` : ''}${a.reason ? `: ${a.reason}` : ''}`}));
    items.push(el('li', {text: `Attempt ${build.attempt}: ${build.result || build.state}`}));
    return fact('Attempts', el('ol', {class: 'plain attempts'}, items));
}

function renderSummary(build) {
    const labels = Object.entries(build.labels || {}).map(([k, v]) => el('li', {}, el('code', {text: `${k}=${v}`})));
    byId('summary').replaceChildren(
        ...fact('State', stateBadge(build.state, build.result),
            build.exit_status >= 0 && build.result ? ` (exit status ${build.exit_status})` : '',
            ...stallNote(build)),
        ...failureFacts(build),
        ...attemptFacts(build),
        ...(build.result && build.started_at ? fact('Resources', el('span', {class: 'resources', text: resourcesText(build.resources)})) : []),
        ...(build.priority ? fact('Priority', `${build.priority > 0 ? '+' : ''}${build.priority}`) : []),
        ...fact('Name', build.name || '—'),
        ...fact('Image', `${build.type} for ${build.arch}, release ${build.release}`),
        ...fact('Host', build.host),
        ...fact('Submitter', submitterOf(build)),
        ...(build.retry_of ? fact('Retry of', el('a', {href: `/builds/${encodeURIComponent(build.retry_of)}`, text: build.retry_of})) : []),
        ...fact('Unit', el('code', {text: build.unit || '—'})),
        ...fact('Labels', labels.length ? el('ul', {class: 'plain'}, labels) : '—'),
        ...fact('Notify', (build.notify || []).join(', ') || '—'));
    byId('badge').replaceChildren(stateBadge(build.state, build.result));
    document.title = `Build ${build.id} (${build.result || build.state}) — imagebuild`;
    renderCancel();
}

// "stalled: no log line since <time>" while the agent says the build's log
// has been silent for its type's stall_timeout.
function stallNote(build) {
    if (!build.stalled || build.result) {
        return [];
    }
    return [' ', el('span', {class: 'state state-stalled', id: 'stalled', text: 'stalled'}),
        ' no log line since ', timeElement(build.stalled_since)];
}

// Cancel: shown while the build is queued or running; usable only when signed
// in with a token that may write (the forwarder and polkit decide the rest).
function renderCancel() {
    const build = current;
    byId('cancel-row').hidden = !build || Boolean(build.result) || !['queued', 'running'].includes(build.state);
    const who = signedInAs();
    let why = '';
    if (!token()) {
        why = 'Sign in (top of the page) to cancel.';
    } else if (who && who.role === 'read') {
        why = `Your token (${who.name}) may read but not cancel.`;
    }
    byId('cancel').disabled = Boolean(why);
    byId('cancel-why').textContent = why;
    byId('cancel-why').hidden = !why;
}

function renderTimeline(build) {
    const step = (what, usec) => el('li', {class: usec ? 'done' : 'pending'}, el('span', {class: 'what', text: what}), ' ', timeElement(usec));
    const items = [step('Submitted', build.submitted_at), step('Started', build.started_at),
        step(build.result ? `Finished: ${build.result}` : 'Finished', build.finished_at)];
    const seconds = buildSeconds(build);
    if (seconds !== null) {
        items.push(el('li', {class: 'done'}, el('span', {class: 'what', text: build.finished_at ? 'Ran for' : 'Running for'}), ' ', durationText(seconds)));
    }
    byId('timeline').replaceChildren(...items);
}

// Where the build's time went: queued (submitted to started), running
// (started to the end of its command) and staging (the end-of-build step,
// to staged_at), as a list and as one stacked bar.
function timeSpent(build) {
    const now = Date.now() * 1000;
    const end = build.finished_at || (build.result ? build.submitted_at : now);
    const queued = (build.started_at || end) - build.submitted_at;
    const running = build.started_at ? end - build.started_at : null;
    const staging = build.staged_at && build.finished_at ? build.staged_at - build.finished_at : null;
    return {queued, running, staging};
}

function renderTimeSpent(build) {
    const spent = timeSpent(build);
    const text = (usec, unknown) => (usec === null ? unknown : durationText(usec / 1e6));
    const stagingUnknown = !build.result ? 'not yet'
        : build.staged_at === 0 ? 'not yet' : 'not recorded';
    byId('time-spent').replaceChildren(
        ...fact('Queued', text(spent.queued, '—')),
        ...fact('Running', text(spent.running, build.result ? 'never ran' : 'not yet')),
        ...fact('Staging', text(spent.staging, stagingUnknown)));
    const bar = (label, usec, colour) => ({label, data: [usec === null ? 0 : usec / 1e6], backgroundColor: colour});
    drawChart(byId('time-chart'), {
        type: 'bar',
        data: {
            labels: ['this build'],
            datasets: [bar('queued', spent.queued, '#8c959f'), bar('running', spent.running, '#0969da'),
                bar('staging', spent.staging, '#2da44e')],
        },
        options: {
            indexAxis: 'y',
            scales: {x: {stacked: true, beginAtZero: true, title: {display: true, text: 'seconds'}},
                y: {stacked: true, display: false}},
            plugins: {legend: {position: 'bottom'}},
        },
    });
}

// The resource record a finished build carries (null: this host cannot
// measure it, never shown as 0).
function renderResources(build) {
    const record = build.resources || {};
    const shown = (key, format) => {
        const value = record[key];
        if (value === null || value === undefined) {
            return build.result ? 'not available' : 'recorded when the build ends';
        }
        return format(value);
    };
    const usec = (v) => `${durationText(v / 1e6)} (${(v / 1e6).toFixed(3)} s)`;
    const bytes = (v) => sizeText(v);
    byId('resources').replaceChildren(
        ...fact('CPU time', shown('cpu_usec', usec)),
        ...fact('Peak memory', shown('memory_peak_bytes', bytes)),
        ...fact('Read from disk', shown('io_read_bytes', bytes)),
        ...fact('Written to disk', shown('io_write_bytes', bytes)),
        ...fact('Wall time', shown('wall_usec', usec)));
}

function renderArtifacts(build) {
    const artifacts = build.artifacts || [];
    byId('artifacts').hidden = artifacts.length === 0;
    byId('artifacts-none').hidden = artifacts.length > 0;
    byId('artifacts-none').textContent = build.result && build.result !== 'succeeded'
        ? 'None: the build did not succeed.'
        : 'None yet: artifacts appear when the build has succeeded.';
    byId('artifacts').tBodies[0].replaceChildren(...artifacts.map((a) => el('tr', {},
        el('td', {}, el('a', {href: `/artifacts/${encodeURIComponent(build.id)}/${encodeURIComponent(a.name)}`,
            download: a.name, class: 'artifact', text: a.name})),
        el('td', {class: 'num', title: `${a.size} bytes`, text: sizeText(a.size)}),
        el('td', {}, el('code', {class: 'sha256', text: a.sha256 || 'not computed'})))));
}

function renderCommands(build) {
    const origin = location.origin;
    const commands = [
        ['Status', `imagebuildctl -H ${origin} status ${build.id}`],
        ['Follow the log', `imagebuildctl -H ${origin} log -f ${build.id}`],
        ['Download the artifacts', `imagebuildctl -H ${origin} artifacts ${build.id} --download .`],
        [`The journal, on host ${build.host}`, `journalctl IMAGEBUILD_ID=${build.id}`],
        ['The log with curl', `curl -N '${origin}/monitor/${build.id}?follow=1'`],
    ];
    byId('commands').replaceChildren(...commands.map(([what, command], i) => {
        const input = el('input', {id: `command-${i}`, class: 'command', readonly: true, value: command, spellcheck: 'false'});
        const copy = el('button', {type: 'button', text: 'Copy', 'aria-label': `Copy: ${what}`, onclick: () => copyText(input)});
        return el('li', {}, el('label', {for: input.id, text: what}), el('div', {class: 'copyrow'}, input, copy));
    }));
}

async function copyText(input) {
    input.select();
    try {
        await navigator.clipboard.writeText(input.value);
    } catch {
        // No clipboard API outside secure contexts (plain http): the old way.
        document.execCommand('copy');
    }
}

function render(build) {
    const wasFinished = current && current.result;
    current = build;
    renderSummary(build);
    renderTimeline(build);
    renderTimeSpent(build);
    renderResources(build);
    renderArtifacts(build);
    if (!wasFinished) {
        renderCommands(build);
    }
    if (build.result) {
        poll.stop();
    }
}

async function refresh() {
    try {
        const build = await get(path, cache);
        if (cache.changed) {
            render(build);
        }
        say(byId('build-status'), '');
    } catch (error) {
        const text = error instanceof ApiError && error.status === 404
            ? `There is no build ${id}: ${error.message}`
            : `Could not read the build: ${error.message}`;
        say(byId('build-status'), text, 'error');
        if (error.status === 404) {
            poll.stop();
            followLog.stop();
        }
    }
}

// ---- the log

const followLog = (() => {
    const log = byId('log');
    const status = byId('log-status');
    let pending = [];
    let scheduled = false;
    let source = null;
    let lines = 0;
    // Lines arrive one event each; they are added to the page once a frame.
    const flush = () => {
        scheduled = false;
        if (!pending.length) {
            return;
        }
        log.append(pending.join(''));
        pending = [];
        if (byId('log-follow').checked) {
            log.scrollTop = log.scrollHeight;
        }
    };
    const add = (text) => {
        pending.push(text);
        if (!scheduled) {
            scheduled = true;
            requestAnimationFrame(flush);
        }
    };
    const stop = () => {
        if (source) {
            source.close();
            source = null;
        }
    };
    const start = () => {
        source = new EventSource(`/monitor/${encodeURIComponent(id)}`);
        source.onopen = () => { status.textContent = 'Following the log live.'; };
        source.onmessage = (event) => {
            lines += 1;
            add(`${event.data}\n`);
        };
        source.addEventListener('state', (event) => {
            status.textContent = `Following the log live (build ${event.data}).`;
        });
        // The agent's stall verdict changed: the record says since when.
        for (const kind of ['stalled', 'unstalled']) {
            source.addEventListener(kind, () => refresh());
        }
        source.addEventListener('end', (event) => {
            stop();
            flush();
            status.textContent = `The build has ended (${event.data}); the log is complete: ${lines} lines.`;
            if (!lines) {
                log.textContent = 'This build wrote no output.';
            }
            refresh();
        });
        // EventSource reconnects by itself and sends Last-Event-ID.
        source.onerror = () => {
            if (source) {
                status.textContent = 'Connection lost; reconnecting — the log continues where it stopped.';
            }
        };
    };
    return {start, stop};
})();

// ---- cancel and kickstart

byId('cancel').addEventListener('click', async () => {
    const note = byId('cancel-status');
    if (!window.confirm(`Cancel build ${id}?`)) {
        return;
    }
    try {
        render(await write('DELETE', path, null));
        say(note, 'Cancel requested.');
        poll.now();
    } catch (error) {
        say(note, `Not cancelled: ${explainAuth(error)}`, 'error');
    }
});

byId('kickstart-details').addEventListener('toggle', async (event) => {
    const pre = byId('kickstart');
    if (!event.target.open || pre.dataset.loaded) {
        return;
    }
    try {
        // Not an open read (it may hold password hashes): sent with the token.
        pre.textContent = await write('GET', `${path}/kickstart`, null);
        pre.dataset.loaded = '1';
    } catch (error) {
        pre.textContent = `Could not read the kickstart: ${error.message}`;
    }
});

setupSignIn();
byId('time-chart-missing').hidden = Boolean(chartLibrary());
byId('time-chart').parentElement.hidden = !chartLibrary();
document.addEventListener('imagebuild-token', renderCancel);
poll = every(2000, refresh);
followLog.start();
