// The submission form (GET /submit). Choices come from /v1/hosts: only what a
// healthy host builds is offered. The same checks as the API run here first,
// with the API's wording; whatever the server still refuses is shown next to
// the field its message names. On success: straight to the build page.
import {ApiError, explainAuth, get, write} from './api.js';
import {setupSignIn} from './signin.js';
import {byId, el, say} from './ui.js';

// The limits of common/build_spec.cpp.
const MAX_NOTIFY = 16;
const MAX_LABELS = 32;
const MAX_TIMEOUT_SEC = 7 * 24 * 3600;
const MAX_KICKSTART_BYTES = 1024 * 1024;
const FIELDS = ['type', 'arch', 'release', 'name', 'kickstart', 'kickstart_file', 'kickstart_main',
    'notify', 'labels', 'timeout_sec'];

let healthy = [];

// ---- choices from the fleet

const serving = (type, arch) => healthy.filter((h) => (h.image_types || []).includes(type) &&
    (!arch || (h.arches || []).includes(arch)));

function fillSelect(select, values) {
    const current = select.value;
    select.replaceChildren(...values.map((v) => el('option', {value: v, text: v})));
    if (values.includes(current)) {
        select.value = current;
    }
}

function updateChoices() {
    const types = [...new Set(healthy.flatMap((h) => h.image_types || []))].sort();
    fillSelect(byId('type'), types);
    const arches = [...new Set(serving(byId('type').value).flatMap((h) => h.arches || []))].sort();
    fillSelect(byId('arch'), arches);
    const hosts = serving(byId('type').value, byId('arch').value);
    const releases = [...new Set(hosts.flatMap((h) => h.releases || []))].sort();
    const anyRelease = hosts.some((h) => !(h.releases || []).length);
    byId('releases').replaceChildren(...releases.map((r) => el('option', {value: r})));
    byId('release-hint').textContent = anyRelease
        ? (releases.length ? `Any release; known: ${releases.join(', ')}.` : 'Any release.')
        : `Built here: ${releases.join(', ') || 'none'}.`;
    if (!byId('release').value && releases.length === 1) {
        byId('release').value = releases[0];
    }
    byId('submit-button').disabled = types.length === 0;
}

async function loadHosts() {
    try {
        const {hosts} = await get('/v1/hosts');
        healthy = hosts.filter((h) => h.healthy);
        const down = hosts.length - healthy.length;
        say(byId('fleet-status'),
            !healthy.length ? 'No healthy host can build right now: nothing can be submitted.'
                : down ? `${down} of ${hosts.length} hosts are down; what only they build is not offered.` : '',
            !healthy.length ? 'error' : 'warning');
        updateChoices();
    } catch (error) {
        say(byId('fleet-status'), `Could not read the fleet: ${error.message}`, 'error');
    }
}

// ---- messages next to fields

function showError(field, message) {
    const node = byId(`${field}-error`);
    node.textContent = message;
    node.hidden = false;
    const input = byId(field);
    if (input) {
        input.setAttribute('aria-invalid', 'true');
    }
}

function clearErrors() {
    for (const field of [...FIELDS, 'token']) {
        const node = byId(`${field}-error`);
        node.textContent = '';
        node.hidden = true;
        byId(field)?.removeAttribute('aria-invalid');
    }
    say(byId('submit-status'), '');
}

function focusFirstError() {
    const field = FIELDS.find((f) => !byId(`${f}-error`).hidden);
    if (field) {
        byId(field).focus();
    } else if (!byId('token-error').hidden) {
        byId('token').focus();
    }
}

const uploading = () => document.querySelector('input[name="ks-source"]:checked').value === 'upload';

// Which field a server message is about: a leading "field:", else the first
// quoted field name in it, else a word it uses.
function fieldOf(error) {
    const ksField = uploading() ? 'kickstart_file' : 'kickstart';
    const message = error.message;
    const lead = /^([a-z_]+):/.exec(message);
    if (lead && FIELDS.includes(lead[1])) {
        return lead[1] === 'kickstart' ? ksField : lead[1];
    }
    if (error.name === 'InvalidKickstart') {
        return ksField;
    }
    for (const match of message.matchAll(/'([a-z_]+)'/g)) {
        if (match[1] === 'kickstart') {
            return ksField;
        }
        if (match[1] === 'label') {
            return 'labels';
        }
        if (FIELDS.includes(match[1])) {
            return match[1];
        }
    }
    const words = [[/image type/, 'type'], [/\barch\b/, 'arch'], [/\brelease\b/, 'release'],
        [/\blabel/, 'labels'], [/notify|e-mail/, 'notify'], [/timeout/, 'timeout_sec'],
        [/kickstart_main/, 'kickstart_main'], [/kickstart|%include|\btar\b|upload/, ksField]];
    const hit = words.find(([pattern]) => pattern.test(message));
    return hit ? hit[1] : null;
}

// ---- the same checks as the API (common/build_spec.cpp)

const isWord = (v) => /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(v);
const wordMessage = (field, max, value) => `spec field '${field}' must be 1 to ${max} characters of letters, digits, '.', '_' and '-' (not starting with '.' or '-'), not "${value.slice(0, 80)}"`;
const isEmail = (a) => a.length <= 254 && /^[^@\s,<>]+@[^@\s,<>]+$/.test(a);
const utf8Length = (text) => new TextEncoder().encode(text).length;

function splitAddresses(text) {
    return text.split(/[\s,]+/).filter(Boolean);
}

// KEY=VALUE lines -> [[key, value]]; a bad line throws its message.
function parseLabels(text) {
    const out = [];
    text.split('\n').forEach((line, i) => {
        if (!line.trim()) {
            return;
        }
        const eq = line.indexOf('=');
        if (eq <= 0) {
            throw new Error(`line ${i + 1}: "${line.slice(0, 80)}" is not KEY=VALUE`);
        }
        const key = line.slice(0, eq).trim();
        const value = line.slice(eq + 1);
        if (!isWord(key) || key.length > 64) {
            throw new Error(`line ${i + 1}: ${wordMessage('labels', 64, key)}`);
        }
        if (utf8Length(value) > 256) {
            throw new Error(`label '${key}' must be UTF-8 text of at most 256 bytes`);
        }
        out.push([key, value]);
    });
    if (out.length > MAX_LABELS) {
        throw new Error(`spec field 'labels' has ${out.length} entries; at most ${MAX_LABELS}`);
    }
    return out;
}

function validate(form) {
    const v = (name) => form.elements[name].value.trim();
    if (!v('type')) {
        showError('type', "'type' is required");
    }
    if (!v('arch')) {
        showError('arch', "'arch' is required");
    }
    const release = v('release');
    if (!release) {
        showError('release', "'release' is required");
    } else if (!isWord(release) || release.length > 64) {
        showError('release', wordMessage('release', 64, release));
    } else {
        const hosts = serving(v('type'), v('arch'));
        if (hosts.length && !hosts.some((h) => !(h.releases || []).length || h.releases.includes(release))) {
            showError('release', `no healthy host builds ${v('type')} for ${v('arch')}/${release}; releases: ${[...new Set(hosts.flatMap((h) => h.releases))].join(', ')}`);
        }
    }
    const name = v('name');
    if (name && (!isWord(name) || name.length > 128)) {
        showError('name', wordMessage('name', 128, name));
    }
    if (uploading()) {
        const file = byId('kickstart_file').files[0];
        if (!file) {
            showError('kickstart_file', "'kickstart_file' is required: choose a kickstart file or a tar of a tree");
        } else if (!file.size) {
            showError('kickstart_file', `'kickstart_file' (${file.name}) is empty`);
        }
    } else {
        const text = form.elements.kickstart.value;
        if (!text.trim()) {
            showError('kickstart', "spec field 'kickstart' is empty; it must hold the flattened kickstart text");
        } else if (utf8Length(text) > MAX_KICKSTART_BYTES) {
            showError('kickstart', `spec field 'kickstart' is ${utf8Length(text)} bytes; at most ${MAX_KICKSTART_BYTES} bytes are accepted`);
        }
    }
    const addresses = splitAddresses(v('notify'));
    const bad = addresses.find((a) => !isEmail(a));
    if (bad) {
        showError('notify', `spec field 'notify' holds "${bad.slice(0, 80)}", which is not an e-mail address (user@domain)`);
    } else if (addresses.length > MAX_NOTIFY) {
        showError('notify', `spec field 'notify' lists ${addresses.length} addresses; at most ${MAX_NOTIFY}`);
    }
    try {
        parseLabels(form.elements.labels.value);
    } catch (error) {
        showError('labels', error.message);
    }
    const timeout = v('timeout_sec');
    if (timeout && (!/^\d+$/.test(timeout) || Number(timeout) > MAX_TIMEOUT_SEC)) {
        showError('timeout_sec', `spec field 'timeout_sec' is ${timeout}; allowed: 1 to ${MAX_TIMEOUT_SEC} (or 0 for the host's default)`);
    }
    return FIELDS.every((f) => byId(`${f}-error`).hidden);
}

// ---- sending

// Pasted text goes as the API's JSON spec.
function jsonSpec(form) {
    const v = (name) => form.elements[name].value.trim();
    const spec = {type: v('type'), arch: v('arch'), release: v('release'), kickstart: form.elements.kickstart.value};
    if (v('name')) {
        spec.name = v('name');
    }
    if (v('timeout_sec')) {
        spec.timeout_sec = Number(v('timeout_sec'));
    }
    const notify = splitAddresses(v('notify'));
    if (notify.length) {
        spec.notify = notify;
    }
    const labels = parseLabels(form.elements.labels.value);
    if (labels.length) {
        spec.labels = Object.fromEntries(labels);
    }
    return spec;
}

// A file or a tree goes as multipart/form-data, the upload form of POST /v1/builds.
function formData(form) {
    const v = (name) => form.elements[name].value.trim();
    const data = new FormData();
    for (const key of ['type', 'arch', 'release', 'name', 'timeout_sec']) {
        if (v(key)) {
            data.append(key, v(key));
        }
    }
    for (const address of splitAddresses(v('notify'))) {
        data.append('notify', address);
    }
    for (const [key, value] of parseLabels(form.elements.labels.value)) {
        data.append('label', `${key}=${value}`);
    }
    if (uploading()) {
        data.append('kickstart_file', byId('kickstart_file').files[0]);
        if (v('kickstart_main')) {
            data.append('kickstart_main', v('kickstart_main'));
        }
    } else {
        data.append('kickstart', form.elements.kickstart.value);
    }
    return data;
}

function showServerError(error) {
    if (error.status === 401 || error.status === 403) {
        const node = byId('token-error');
        node.textContent = explainAuth(error);
        node.hidden = false;
        return;
    }
    const field = error.status === 413 ? (uploading() ? 'kickstart_file' : 'kickstart') : fieldOf(error);
    if (field) {
        showError(field, error.message);
    }
    say(byId('submit-status'), `Not submitted: ${error.message}`, 'error');
}

async function submit(event) {
    event.preventDefault();
    const form = event.target;
    clearErrors();
    if (!validate(form)) {
        say(byId('submit-status'), 'Not submitted: correct the fields marked above.', 'error');
        focusFirstError();
        return;
    }
    const button = byId('submit-button');
    button.disabled = true;
    say(byId('submit-status'), 'Submitting…');
    try {
        const build = await write('POST', '/v1/builds', uploading() ? formData(form) : jsonSpec(form));
        say(byId('submit-status'), `Submitted build ${build.id}.`);
        location.assign(`/builds/${encodeURIComponent(build.id)}`);
    } catch (error) {
        if (!(error instanceof ApiError)) {
            say(byId('submit-status'), `Not submitted: ${error.message}`, 'error');
        } else {
            showServerError(error);
        }
        focusFirstError();
    } finally {
        button.disabled = false;
    }
}

function setupKickstartSource() {
    const sync = () => {
        byId('paste-field').hidden = uploading();
        byId('upload-fields').hidden = !uploading();
    };
    for (const radio of document.querySelectorAll('input[name="ks-source"]')) {
        radio.addEventListener('change', sync);
    }
    byId('kickstart_file').addEventListener('change', () => {
        const file = byId('kickstart_file').files[0];
        byId('main-field').hidden = !file || !/\.(tar|tar\.gz|tgz)$/i.test(file.name);
    });
    sync();
}

setupSignIn();
setupKickstartSource();
byId('type').addEventListener('change', updateChoices);
byId('arch').addEventListener('change', updateChoices);
byId('submit').addEventListener('submit', submit);
loadHosts();
