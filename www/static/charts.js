// Charts with Debian's Chart.js (libjs-chart.js, served at /javascript/chart.js/
// and loaded by the page as a classic script before its module). Every chart
// has its numbers in a table or list next to it, so a page without the
// library (not installed: the script 404s) says so and still shows them.

// Chart.js's global, or null when the library did not load.
export function chartLibrary() {
    return typeof window.Chart === 'function' ? window.Chart : null;
}

// Draws `config` on `canvas`, or puts the new data and labels into the chart
// already there (no flicker on a poll). False without the library.
export function drawChart(canvas, config) {
    const Chart = chartLibrary();
    if (!Chart) {
        return false;
    }
    const existing = Chart.getChart(canvas);
    if (existing && existing.config.type === config.type) {
        existing.data.labels = config.data.labels;
        existing.data.datasets = config.data.datasets;
        existing.update('none');
        return true;
    }
    if (existing) {
        existing.destroy();
    }
    config.options = {animation: false, responsive: true, maintainAspectRatio: false, ...config.options};
    new Chart(canvas, config);
    return true;
}

// Outcomes ("succeeded", "failed:infra") in the order a stack shows them,
// their colours (a class colours its failures, else the state), their labels.
const STATES = ['succeeded', 'failed', 'timed-out', 'cancelled', 'running', 'queued'];
const STATE_COLOURS = {
    succeeded: '#2da44e', failed: '#cf222e', 'timed-out': '#bc4c00', cancelled: '#9a6700',
    running: '#0969da', queued: '#8c959f',
};
const CLASS_COLOURS = {build: '#cf222e', infra: '#8250df', timeout: '#bc4c00', cancelled: '#9a6700'};

export function outcomeOrder(a, b) {
    const rank = (key) => {
        const i = STATES.indexOf(key.split(':')[0]);
        return i < 0 ? STATES.length : i;
    };
    return rank(a) - rank(b) || a.localeCompare(b);
}

export function outcomeColour(key) {
    const [state, failureClass] = key.split(':');
    return CLASS_COLOURS[failureClass] || STATE_COLOURS[state] || '#57606a';
}

export function outcomeLabel(key) {
    const [state, failureClass] = key.split(':');
    return failureClass ? `${state} (${failureClass})` : state;
}
