// Live following on the monitor page (/monitor/<id> for browsers): the page
// holds the log so far; this continues from its last journal cursor.
const follow = document.getElementById('follow');
const log = document.getElementById('log');
const after = follow.dataset.after ? `?after=${encodeURIComponent(follow.dataset.after)}` : '';
const source = new EventSource(`/monitor/${encodeURIComponent(follow.dataset.build)}${after}`);
source.onmessage = (event) => {
    document.getElementById('empty')?.remove();
    log.append(`${event.data}\n`);
};
source.addEventListener('end', (event) => {
    document.getElementById('state').textContent = event.data;
    source.close();
});
