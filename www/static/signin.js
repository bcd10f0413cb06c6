// The "Sign in" box in every page's header: a bearer token kept in this tab's
// sessionStorage only, sent with writes (submit, cancel).
import {setToken, token} from './api.js';
import {byId, say} from './ui.js';

function render() {
    const signedIn = Boolean(token());
    byId('signin-form').hidden = signedIn;
    byId('signout').hidden = !signedIn;
    say(byId('signin-status'), signedIn ? 'Signed in: your token is kept in this tab only.' : '');
}

export function setupSignIn() {
    byId('signin-form').addEventListener('submit', (event) => {
        event.preventDefault();
        const input = byId('token');
        const value = input.value.trim();
        if (!value) {
            say(byId('signin-status'), 'Paste your token first.', 'error');
            input.focus();
            return;
        }
        input.value = '';
        setToken(value);
    });
    byId('signout').addEventListener('click', () => setToken(''));
    document.addEventListener('imagebuild-token', render);
    render();
}
