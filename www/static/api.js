// The /v1 API as the pages use it: JSON reads with ETag revalidation (a poll
// that finds nothing new costs a 304), writes with the bearer token, and
// errors as ApiError carrying the API's {"error", "message"}.

const TOKEN_KEY = 'imagebuild.token';

// The token lives in this tab's sessionStorage only: never in a cookie (no
// CSRF), never in localStorage (gone when the tab closes).
export function token() {
    return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
    if (value) {
        sessionStorage.setItem(TOKEN_KEY, value);
    } else {
        sessionStorage.removeItem(TOKEN_KEY);
    }
    document.dispatchEvent(new CustomEvent('imagebuild-token'));
}

export class ApiError extends Error {
    constructor(status, name, message, body) {
        super(message);
        this.status = status;
        this.name = name;
        this.body = body;
    }
}

async function bodyOf(response) {
    const type = response.headers.get('Content-Type') || '';
    if (type.includes('json')) {
        return response.json().catch(() => null);
    }
    return response.text();
}

async function check(response) {
    const body = await bodyOf(response);
    if (!response.ok) {
        const name = (body && body.error) || `HTTP${response.status}`;
        const message = (body && body.message) || `the server answered ${response.status} ${response.statusText}`;
        throw new ApiError(response.status, name, message, body);
    }
    return body;
}

// GET `path`; with `cache` (an object this function keeps the ETag and the
// last body in) a 304 returns the cached body and sets cache.changed = false.
// `preloaded`: the page has a <link rel="preload" as="fetch"> for `path`; the
// request is then made exactly as the preload was (no headers of ours, the
// default cache mode), so the browser hands over the answer it already has.
export async function get(path, cache, preloaded = false) {
    const headers = {Accept: 'application/json'};
    if (cache && cache.etag && cache.path === path) {
        headers['If-None-Match'] = cache.etag;
    }
    const response = await (preloaded ? fetch(path) : fetch(path, {headers, cache: 'no-store'}));
    if (cache && response.status === 304 && cache.path === path) {
        cache.changed = false;
        return cache.body;
    }
    const body = await check(response);
    if (cache) {
        cache.path = path;
        cache.etag = response.headers.get('ETag');
        cache.body = body;
        cache.changed = true;
    }
    return body;
}

// Who a token is (GET /v1/whoami): {name, role}, or ApiError 401 if the
// server does not accept it. Nothing is stored here.
export async function whoami(candidate) {
    const response = await fetch('/v1/whoami', {
        headers: {Accept: 'application/json', Authorization: `Bearer ${candidate}`},
        cache: 'no-store',
    });
    return check(response);
}

// A write: `body` is FormData (sent as multipart/form-data), a plain object
// (sent as JSON) or null.
export async function write(method, path, body) {
    const headers = {Accept: 'application/json'};
    const auth = token();
    if (auth) {
        headers.Authorization = `Bearer ${auth}`;
    }
    let payload = body;
    if (body && !(body instanceof FormData)) {
        headers['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
    }
    return check(await fetch(path, {method, headers, body: payload, cache: 'no-store'}));
}

// Calls `tick` now and then every `intervalMs` while the tab is visible, one
// call at a time; `poll.now()` asks for an immediate call, `poll.stop()` ends it.
export function every(intervalMs, tick) {
    let timer = null;
    let running = false;
    let again = false;
    let stopped = false;
    const run = async () => {
        clearTimeout(timer);
        if (stopped) {
            return;
        }
        if (running) {
            again = true;  // asked for while a call is on its way: one more after it
            return;
        }
        running = true;
        try {
            await tick();
        } finally {
            running = false;
            if (again) {
                again = false;
                run();
            } else if (!stopped && !document.hidden) {
                timer = setTimeout(run, intervalMs);
            }
        }
    };
    document.addEventListener('visibilitychange', () => {
        if (!document.hidden) {
            run();
        }
    });
    run();
    return {
        now: run,
        stop() {
            stopped = true;
            clearTimeout(timer);
        },
    };
}

// What a refused write means to a person, for the messages next to fields.
export function explainAuth(error) {
    if (error.status === 401) {
        return token()
            ? `The server refused your token (wrong, expired or revoked): sign in again. (${error.message})`
            : `You are not signed in: this needs a token. Paste yours under "Sign in". (${error.message})`;
    }
    if (error.status === 403) {
        return `Your token may not do this: ${error.message}`;
    }
    return error.message;
}
