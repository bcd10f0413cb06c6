// DOM helpers. Data only ever becomes text (textContent, attributes set one
// by one), never markup: a build name or kickstart holding "<script>" shows
// as those characters.

export function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
        if (value === undefined || value === null || value === false) {
            continue;
        }
        if (key === 'text') {
            node.textContent = value;
        } else if (key === 'class') {
            node.className = value;
        } else if (key.startsWith('on')) {
            node.addEventListener(key.slice(2), value);
        } else {
            node.setAttribute(key, value === true ? '' : String(value));
        }
    }
    for (const child of children.flat()) {
        if (child !== undefined && child !== null && child !== false) {
            node.append(child instanceof Node ? child : String(child));
        }
    }
    return node;
}

export function byId(id) {
    return document.getElementById(id);
}

// usec since the epoch -> Date, or null for 0.
function dateOf(usec) {
    return usec ? new Date(Number(usec) / 1000) : null;
}

const pad = (n) => String(n).padStart(2, '0');

export function timeText(usec) {
    const d = dateOf(usec);
    if (!d) {
        return '—';
    }
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function timeElement(usec) {
    const d = dateOf(usec);
    return d ? el('time', {datetime: d.toISOString(), text: timeText(usec)}) : '—';
}

export function durationText(seconds) {
    if (seconds === null || seconds === undefined || seconds < 0) {
        return '—';
    }
    const s = Math.round(seconds);
    if (s < 60) {
        return `${s} s`;
    }
    if (s < 3600) {
        return `${Math.floor(s / 60)} min ${s % 60} s`;
    }
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// How long a build ran (or has been running), in seconds; null if it has not started.
export function buildSeconds(build) {
    if (!build.started_at) {
        return null;
    }
    const end = build.finished_at || Date.now() * 1000;
    return (end - build.started_at) / 1e6;
}

export function sizeText(bytes) {
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let value = Number(bytes);
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
    }
    return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

export function stateBadge(state, result) {
    const word = result || state || 'unknown';
    return el('span', {class: `state state-${word}`, text: word});
}

// Who submitted a build: the record's "submitter" (the token name for builds
// submitted over HTTP, the user name for D-Bus ones) where the server sends
// it; else the submitted_by label (HTTP builds, on the build page) or the uid.
export function submitterOf(build) {
    return build.submitter || (build.labels && build.labels.submitted_by) || `uid ${build.submitter_uid}`;
}

// A status line for a region: role=status is announced politely.
export function say(node, text, kind = '') {
    node.textContent = text;
    node.className = kind ? `notice ${kind}` : 'notice';
    node.hidden = !text;
}
