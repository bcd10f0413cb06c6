// The "Sign in" box in every page's header: a bearer token kept in this tab's
// sessionStorage only, sent with writes (submit, cancel). The token is checked
// with GET /v1/whoami first and kept only if the server knows it; a kept
// token is checked again when a page opens (it may have been revoked).
import {ApiError, setToken, token, whoami} from './api.js';
import {byId, say} from './ui.js';

let who = null;  // {name, role} of the kept token, once the server said so

// {name, role} of the signed-in token once the server has named it, else null.
export function signedInAs() {
    return token() ? who : null;
}

function roleText(role) {
    return role === 'read' ? ' (read only: cannot submit or cancel)' : '';
}

function render() {
    const signedIn = Boolean(token());
    byId('signin-form').hidden = signedIn;
    byId('signout').hidden = !signedIn;
    if (signedIn) {
        say(byId('signin-status'), who
            ? `Signed in as ${who.name}${roleText(who.role)}.`
            : 'Signed in: your token is kept in this tab only.');
    }
}

function refused(error) {
    if (error instanceof ApiError && error.status === 401) {
        return `The server does not accept this token (wrong, expired or revoked): ${error.message}`;
    }
    return `Could not check the token: ${error.message}`;
}

function markField(message) {
    const input = byId('token');
    input.setAttribute('aria-invalid', message ? 'true' : 'false');
    say(byId('signin-status'), message, message ? 'error' : '');
}

async function signIn(value) {
    try {
        who = await whoami(value);
    } catch (error) {
        markField(refused(error));
        byId('token').focus();
        return;
    }
    byId('token').value = '';
    markField('');
    setToken(value);
}

// A token kept from earlier in this tab: still good?
async function recheck() {
    const kept = token();
    if (!kept) {
        return;
    }
    try {
        who = await whoami(kept);
        document.dispatchEvent(new CustomEvent('imagebuild-token'));
    } catch (error) {
        if (error instanceof ApiError && error.status === 401 && token() === kept) {
            setToken('');
            markField(`Signed out: ${refused(error)}`);
        }
    }
}

export function setupSignIn() {
    byId('signin-form').addEventListener('submit', (event) => {
        event.preventDefault();
        const value = byId('token').value.trim();
        if (!value) {
            markField('Paste your token first.');
            byId('token').focus();
            return;
        }
        signIn(value);
    });
    byId('signout').addEventListener('click', () => {
        who = null;
        setToken('');
        say(byId('signin-status'), '');
    });
    document.addEventListener('imagebuild-token', render);
    render();
    recheck();
}
