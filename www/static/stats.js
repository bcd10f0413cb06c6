// The fleet's last 14 days (GET /stats): one small answer from /v1/stats
// (the forwarder adds up every host's builds; the page never fetches the
// builds themselves), drawn with Chart.js and listed in tables.
import {every, get} from './api.js';
import {chartLibrary, drawChart, outcomeColour, outcomeLabel, outcomeOrder} from './charts.js';
import {setupSignIn} from './signin.js';
import {byId, durationText, el, say} from './ui.js';

const DAYS = 14;
const cache = {};

const seconds = (usec) => (usec === null || usec === undefined ? null : usec / 1e6);
const timeText = (usec) => (usec === null || usec === undefined ? '—' : durationText(usec / 1e6));

function outcomeKeys(stats) {
    const keys = new Set();
    for (const day of stats.per_day) {
        Object.keys(day.outcomes || {}).forEach((k) => keys.add(k));
    }
    return [...keys].sort(outcomeOrder);
}

function renderPerDay(stats) {
    const keys = outcomeKeys(stats);
    const table = byId('per-day');
    table.tHead.rows[0].replaceChildren(el('th', {scope: 'col', text: 'Day (UTC)'}),
        el('th', {scope: 'col', class: 'num', text: 'Builds'}),
        ...keys.map((k) => el('th', {scope: 'col', class: 'num', text: outcomeLabel(k)})));
    table.tBodies[0].replaceChildren(...stats.per_day.map((day) => el('tr', {},
        el('th', {scope: 'row', text: day.day}),
        el('td', {class: 'num', text: day.total}),
        ...keys.map((k) => el('td', {class: 'num', text: (day.outcomes || {})[k] || 0})))));
    drawChart(byId('per-day-chart'), {
        type: 'bar',
        data: {
            labels: stats.per_day.map((day) => day.day),
            datasets: keys.map((k) => ({
                label: outcomeLabel(k),
                outcome: k,
                data: stats.per_day.map((day) => (day.outcomes || {})[k] || 0),
                backgroundColor: outcomeColour(k),
            })),
        },
        options: {
            scales: {
                x: {stacked: true},
                y: {stacked: true, beginAtZero: true, ticks: {precision: 0}, title: {display: true, text: 'builds'}},
            },
            plugins: {legend: {position: 'bottom'}},
        },
    });
}

// Queue wait and duration per type or per host: a table and grouped bars
// (median and 90th percentile, in seconds).
function renderTimes(stats, by, tableId, canvasId, what) {
    const waits = stats.queue_wait[by];
    const durations = stats.duration[by];
    const names = [...new Set([...Object.keys(waits), ...Object.keys(durations)])].sort();
    const none = {count: 0, median_usec: null, p90_usec: null, max_usec: null};
    const table = byId(tableId);
    const header = (text, cls) => el('th', {scope: 'col', class: cls, text});
    table.tHead.replaceChildren(el('tr', {}, header(what), header('Started', 'num'),
        header('Wait median', 'num'), header('Wait p90', 'num'), header('Wait max', 'num'),
        header('Ended', 'num'), header('Duration median', 'num'), header('Duration p90', 'num'),
        header('Duration max', 'num')));
    const rows = names.map((name) => {
        const w = waits[name] || none;
        const d = durations[name] || none;
        return el('tr', {}, el('th', {scope: 'row', text: name}),
            el('td', {class: 'num', text: w.count}), el('td', {class: 'num', text: timeText(w.median_usec)}),
            el('td', {class: 'num', text: timeText(w.p90_usec)}), el('td', {class: 'num', text: timeText(w.max_usec)}),
            el('td', {class: 'num', text: d.count}), el('td', {class: 'num', text: timeText(d.median_usec)}),
            el('td', {class: 'num', text: timeText(d.p90_usec)}), el('td', {class: 'num', text: timeText(d.max_usec)}));
    });
    table.tBodies[0].replaceChildren(...(rows.length ? rows
        : [el('tr', {}, el('td', {colspan: 9, text: `No build started in the last ${stats.days} days.`}))]));
    const series = (label, from, key, colour) => ({
        label,
        data: names.map((name) => seconds((from[name] || none)[key])),
        backgroundColor: colour,
    });
    drawChart(byId(canvasId), {
        type: 'bar',
        data: {
            labels: names,
            datasets: [
                series('queue wait, median', waits, 'median_usec', '#8c959f'),
                series('queue wait, p90', waits, 'p90_usec', '#57606a'),
                series('duration, median', durations, 'median_usec', '#54aeff'),
                series('duration, p90', durations, 'p90_usec', '#0969da'),
            ],
        },
        options: {
            scales: {y: {beginAtZero: true, title: {display: true, text: 'seconds'}}},
            plugins: {legend: {position: 'bottom'}},
        },
    });
}

function render(stats) {
    renderPerDay(stats);
    renderTimes(stats, 'per_type', 'per-type', 'per-type-chart', 'Image type');
    renderTimes(stats, 'per_host', 'per-host', 'per-host-chart', 'Host');
    const missing = stats.unreachable || [];
    say(byId('stats-status'), missing.length
        ? `Not counted: ${missing.join(', ')} did not answer; the numbers are of ${(stats.hosts || []).join(', ') || 'no host'}.`
        : '', missing.length ? 'warning' : '');
}

async function refresh() {
    try {
        const stats = await get(`/v1/stats?days=${DAYS}`, cache);
        if (cache.changed !== false) {
            render(stats);
        }
    } catch (error) {
        say(byId('stats-status'), `Could not read the statistics: ${error.message}`, 'error');
    }
}

setupSignIn();
const charts = Boolean(chartLibrary());
byId('charts-missing').hidden = charts;
document.querySelectorAll('.chart').forEach((node) => {
    node.hidden = !charts;
});
every(60000, refresh);
