#!/usr/bin/python3
"""Browser cases of tests/system/test-web.sh: Debian's chromium, headless,
driven by chromedriver through python3-selenium. Runs INSIDE a sandbox host
(HOME, TMPDIR and the browser profile are under the sandbox's own /tmp).

usage: web_browser.py CASE BASE_URL OUT_DIR [ARGS...]
Prints what it checks; exits 1 with a message on the first failed check."""

import hashlib
import json
import os
import pathlib
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

TOKEN = 'alice-token'


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def browser(downloads=None, javascript=True, width=1280, height=900):
    options = webdriver.ChromeOptions()
    options.binary_location = '/usr/bin/chromium'
    for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
                '--no-first-run', '--disable-extensions', '--disable-background-networking',
                f'--user-data-dir={os.environ["TMPDIR"]}/chromium-profile-{os.getpid()}-{time.monotonic_ns()}',
                f'--window-size={width},{height}'):
        options.add_argument(arg)
    prefs = {}
    if downloads:
        prefs.update({'download.default_directory': downloads, 'download.prompt_for_download': False})
    if not javascript:
        prefs['profile.managed_default_content_settings.javascript'] = 2
    options.add_experimental_option('prefs', prefs)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    service = Service('/usr/bin/chromedriver', log_path=f'{os.environ["TMPDIR"]}/chromedriver.log')
    return webdriver.Chrome(service=service, options=options)


def wait(driver, seconds, what, predicate):
    try:
        # The pages re-render live: an element found a moment ago may be replaced
        # before it is read. That is a reason to look again, not a failure.
        return WebDriverWait(driver, seconds, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException,)).until(
                                 lambda d: predicate(d))
    except TimeoutException:
        raise Failed(f'timed out after {seconds} s waiting for {what}')


def text_of(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def api(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as answer:
        return json.load(answer)


def script_errors(driver):
    """Console entries that mean our page broke: exceptions, CSP violations."""
    bad = []
    for entry in driver.get_log('browser'):
        message = entry.get('message', '')
        if 'Uncaught' in message or 'Content Security Policy' in message or \
                (entry.get('level') == 'SEVERE' and '/static/' in message):
            bad.append(message)
    return bad


def no_script_errors(driver):
    errors = script_errors(driver)
    check(not errors, f'the page logged script errors: {errors}')


def sign_in(driver, base, token=TOKEN):
    driver.get(base + '/submit')
    field = driver.find_element(By.ID, 'token')
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, '#signin-form button[type="submit"]').click()
    wait(driver, 5, 'the signed-in state', lambda d: d.find_element(By.ID, 'signout').is_displayed())
    wait(driver, 5, 'the name the server gives the token',
         lambda d: text_of(d, 'signin-status').startswith('Signed in as '))
    check(not driver.find_element(By.ID, 'signin-form').is_displayed(), 'the sign-in form is still shown')
    check(driver.execute_script('return sessionStorage.getItem("imagebuild.token")') == token,
          'the token is not in sessionStorage')
    check(driver.execute_script('return localStorage.length') == 0, 'something was put in localStorage')
    check(driver.get_cookies() == [], 'the page set cookies')


def all_controls_labelled(driver):
    unlabelled = driver.execute_script('''
        return [...document.querySelectorAll('input, select, textarea')]
            .filter((e) => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map((e) => e.id || e.name);''')
    check(not unlabelled, f'form controls without a label: {unlabelled}')


def as_phone(driver, width=375, height=812):
    """A phone's viewport: 375 CSS px wide, touch, device pixel ratio 2."""
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                           {'width': width, 'height': height, 'deviceScaleFactor': 2, 'mobile': True})
    driver.execute_cdp_cmd('Emulation.setTouchEmulationEnabled', {'enabled': True})


def no_sideways_scroll(driver, what, phone_width=375):
    time.sleep(0.3)  # a layout after the resize
    width, scroll = driver.execute_script(
        'return [window.innerWidth, document.documentElement.scrollWidth]')
    check(width == phone_width, f'{what}: the viewport is {width} px wide, not {phone_width}')
    check(scroll <= width, f'{what} at {width} px is {scroll - width} px too wide: it scrolls sideways')
    # Nothing sticks out of the viewport either (content clipped by overflow: hidden).
    wide = driver.execute_script('''
        const w = window.innerWidth;
        return [...document.querySelectorAll('body *')].filter((e) => {
            if (e.closest('.scroll') || !e.getClientRects().length) { return false; }
            const r = e.getBoundingClientRect();
            return r.right > w + 1;
        }).slice(0, 5).map((e) => e.tagName + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''));''')
    check(not wide, f'{what} at {width} px: elements reach past the right edge: {wide}')
    print(f'{what} at {width} px: no sideways scrolling')


def fill_form(driver, type_, arch, release, name=''):
    wait(driver, 10, 'the image types from /v1/hosts',
         lambda d: type_ in [o.get_attribute('value') for o in Select(d.find_element(By.ID, 'type')).options])
    Select(driver.find_element(By.ID, 'type')).select_by_value(type_)
    Select(driver.find_element(By.ID, 'arch')).select_by_value(arch)
    release_field = driver.find_element(By.ID, 'release')
    release_field.clear()
    release_field.send_keys(release)
    name_field = driver.find_element(By.ID, 'name')
    name_field.clear()
    if name:
        name_field.send_keys(name)


def go_to_build_page(driver):
    wait(driver, 20, 'the build page after submitting', lambda d: '/builds/' in d.current_url)
    return driver.current_url.rsplit('/', 1)[1]


def wait_for_result(driver, build_id, result, seconds=90):
    wait(driver, seconds, f'build {build_id} to show "{result}"',
         lambda d: d.find_element(By.CSS_SELECTOR, '#badge .state').text == result)


def screenshot(driver, out, name):
    path = pathlib.Path(out) / name
    driver.save_screenshot(str(path))
    print(f'screenshot: {path}')


# ---- cases

def case_dashboard(base, out, hosts, build_id):
    """Both hosts and an existing build appear; filters go to the server; a phone-sized window scrolls no page sideways."""
    driver = browser()
    try:
        driver.get(base + '/')
        for host in hosts.split(','):
            wait(driver, 15, f'host {host} in the hosts table',
                 lambda d: any(r.text.startswith(host + ' healthy')
                               for r in d.find_elements(By.CSS_SELECTOR, '#hosts tbody tr')))
        wait(driver, 15, f'build {build_id} in the builds table',
             lambda d: d.find_elements(By.LINK_TEXT, build_id))
        print(f'dashboard shows hosts {hosts} and build {build_id}')
        # Submitted through the form with alice's token: the row names alice, not a uid.
        row = driver.find_element(By.LINK_TEXT, build_id).find_element(By.XPATH, './ancestor::tr')
        check('alice' in row.text.split(), f'the row of {build_id} does not name its submitter alice: {row.text}')
        all_controls_labelled(driver)
        # A filter that matches nothing, then one that matches the build.
        Select(driver.find_element(By.ID, 'f-state')).select_by_value('cancelled')
        wait(driver, 10, 'the filtered (empty) table', lambda d: 'No builds match' in text_of(d, 'builds'))
        check('state=cancelled' in driver.current_url, 'the filter is not in the URL: ' + driver.current_url)
        Select(driver.find_element(By.ID, 'f-state')).select_by_value('succeeded')
        wait(driver, 10, f'build {build_id} under state=succeeded', lambda d: d.find_elements(By.LINK_TEXT, build_id))
        driver.find_element(By.CSS_SELECTOR, '#filters button[type="reset"]').click()
        wait(driver, 10, 'the filters cleared', lambda d: 'state=' not in d.current_url)
        screenshot(driver, out, 'dashboard.png')
        as_phone(driver)
        no_sideways_scroll(driver, 'the dashboard')
        screenshot(driver, out, 'dashboard-phone.png')
        no_script_errors(driver)
    finally:
        driver.quit()


def case_submit_tree(base, out, tree_tar, main, fallback_ks):
    """Sign in, submit an oemdrv build with a kickstart tree (tar), follow it to
    succeeded, download the ISO through the page's link and check its sha256."""
    downloads = os.path.join(os.environ['TMPDIR'], 'downloads')
    os.makedirs(downloads, exist_ok=True)
    driver = browser(downloads=downloads)
    try:
        sign_in(driver, base)
        driver.get(base + '/submit')
        all_controls_labelled(driver)
        fill_form(driver, 'oemdrv', 'x86_64', '40', 'web-tree')
        if tree_tar != '-':
            driver.find_element(By.CSS_SELECTOR, 'input[name="ks-source"][value="upload"]').click()
            driver.find_element(By.ID, 'kickstart_file').send_keys(tree_tar)
            wait(driver, 5, 'the main-file field for a tar', lambda d: d.find_element(By.ID, 'kickstart_main').is_displayed())
            driver.find_element(By.ID, 'kickstart_main').send_keys(main)
            print(f'uploading the tree {tree_tar} (main file {main})')
        else:
            driver.find_element(By.ID, 'kickstart').send_keys(pathlib.Path(fallback_ks).read_text())
            print(f'pasting the flattened kickstart {fallback_ks} (no multipart upload on this branch)')
        driver.find_element(By.ID, 'labels').send_keys('ticket=WEB-1')
        driver.find_element(By.ID, 'submit-button').click()
        build_id = go_to_build_page(driver)
        print(f'submitted {build_id}')
        wait_for_result(driver, build_id, 'succeeded')
        wait(driver, 15, 'the complete log', lambda d: 'the log is complete' in text_of(d, 'log-status'))
        log = text_of(driver, 'log')
        check('oemdrv.iso' in log or 'ISO' in log or 'xorriso' in log, f'the log shows no xorriso output: {log[:500]}')
        check('ticket=WEB-1' in text_of(driver, 'summary'), 'the label is not shown')
        check('alice' in text_of(driver, 'summary').split(), 'the summary does not name the submitter alice')
        timeline = text_of(driver, 'timeline')
        check('Submitted' in timeline and 'Finished: succeeded' in timeline, f'timeline: {timeline}')
        # The kickstart used: the tree, flattened (every %include resolved).
        driver.find_element(By.CSS_SELECTOR, '#kickstart-details summary').click()
        wait(driver, 10, 'the kickstart', lambda d: d.find_element(By.ID, 'kickstart').text.strip())
        kickstart = text_of(driver, 'kickstart')
        check(not [l for l in kickstart.splitlines() if l.strip().startswith('%include')],
              'the kickstart shown still has %include lines')
        check('Installed from an imagebuild OEMDRV image.' in kickstart, 'the kickstart shown is not the tree')
        commands = [e.get_attribute('value') for e in driver.find_elements(By.CSS_SELECTOR, '#commands input')]
        check(f'journalctl IMAGEBUILD_ID={build_id}' in commands, f'no journalctl one-liner in {commands}')
        check(any(c.startswith('imagebuildctl -H') and build_id in c for c in commands), 'no imagebuildctl one-liner')
        driver.execute_script('window.scrollTo(0, 0)')
        screenshot(driver, out, 'build.png')
        # Download through the page's link; compare with SHA256SUMS and the page.
        rows = {r.find_element(By.CSS_SELECTOR, 'a.artifact').text: r
                for r in driver.find_elements(By.CSS_SELECTOR, '#artifacts tbody tr')}
        check('oemdrv.iso' in rows and 'SHA256SUMS' in rows, f'artifacts shown: {sorted(rows)}')
        rows['oemdrv.iso'].find_element(By.CSS_SELECTOR, 'a.artifact').click()
        iso = pathlib.Path(downloads) / 'oemdrv.iso'
        wait(driver, 30, 'the downloaded ISO', lambda d: iso.exists() and iso.stat().st_size > 0)
        digest = hashlib.sha256(iso.read_bytes()).hexdigest()
        sums_url = rows['SHA256SUMS'].find_element(By.CSS_SELECTOR, 'a.artifact').get_attribute('href')
        with urllib.request.urlopen(sums_url, timeout=30) as answer:
            sums = answer.read().decode()
        listed = {line.split()[1].lstrip('*'): line.split()[0] for line in sums.splitlines() if line.strip()}
        check(listed.get('oemdrv.iso') == digest, f'downloaded ISO sha256 {digest}, SHA256SUMS says {listed}')
        shown = rows['oemdrv.iso'].find_element(By.CSS_SELECTOR, '.sha256').text
        check(shown == digest, f'the page shows sha256 {shown}, the download has {digest}')
        print(f'downloaded oemdrv.iso ({iso.stat().st_size} bytes), sha256 {digest} matches SHA256SUMS')
        no_script_errors(driver)
        print(f'BUILD_ID={build_id}')
    finally:
        driver.quit()


XSS_NAME = '<script>window.__xss = 1</script>'
XSS_LABEL = '<script>window.__xss = 2</script><img src=x onerror="window.__xss = 3">'
XSS_KS = 'lang en_US.UTF-8\n# <script>window.__xss = 4</script>\n%pre\necho "<img src=x onerror=window.__xss=5>"\n%end\n'


def case_xss(base, out):
    """Markup in user input is shown as text everywhere, and runs nowhere."""
    driver = browser()
    try:
        sign_in(driver, base)
        driver.get(base + '/submit')
        fill_form(driver, 'oemdrv', 'x86_64', '40', XSS_NAME)
        driver.find_element(By.ID, 'kickstart').send_keys(XSS_KS)
        driver.find_element(By.ID, 'labels').send_keys('note=' + XSS_LABEL)
        driver.find_element(By.ID, 'submit-button').click()
        # Names are letters, digits, . _ -: refused before sending, the value quoted as text.
        wait(driver, 5, 'the name error', lambda d: d.find_element(By.ID, 'name-error').is_displayed())
        check(XSS_NAME in text_of(driver, 'name-error'), 'the name error does not quote the name as text: '
              + text_of(driver, 'name-error'))
        check(driver.find_element(By.ID, 'name').get_attribute('aria-invalid') == 'true', 'the name is not marked invalid')
        check('/submit' in driver.current_url, 'a refused form left the page')
        fill_form(driver, 'oemdrv', 'x86_64', '40', 'xss-test')
        driver.find_element(By.ID, 'submit-button').click()
        build_id = go_to_build_page(driver)
        wait_for_result(driver, build_id, 'succeeded')
        wait(driver, 10, 'the label', lambda d: XSS_LABEL in text_of(d, 'summary'))
        driver.find_element(By.CSS_SELECTOR, '#kickstart-details summary').click()
        wait(driver, 10, 'the kickstart', lambda d: '<script>window.__xss = 4</script>' in text_of(d, 'kickstart'))
        check(not driver.find_elements(By.CSS_SELECTOR, 'main img, main script'), 'user input became elements')
        check(driver.execute_script('return window.__xss') is None, 'an injected script ran on the build page')
        # The dashboard, and the monitor page of the same build.
        driver.get(base + '/')
        wait(driver, 15, f'{build_id} on the dashboard', lambda d: d.find_elements(By.LINK_TEXT, build_id))
        driver.get(f'{base}/monitor/{build_id}')
        check(driver.execute_script('return window.__xss') is None, 'an injected script ran')
        try:
            driver.switch_to.alert
            raise Failed('an alert opened')
        except NoAlertPresentException:
            pass
        no_script_errors(driver)
        print(f'{build_id}: name, label and kickstart markup shown as text, nothing ran')
    finally:
        driver.quit()


def case_no_token(base, out):
    """Without a token, or with a wrong one, the form is refused with a clear message and nothing is submitted."""
    before = api(base, '/v1/builds?limit=1&offset=0')['total']
    driver = browser()
    try:
        driver.get(base + '/submit')
        check(driver.execute_script('return sessionStorage.length') == 0, 'a fresh tab has a token')
        fill_form(driver, 'oemdrv', 'x86_64', '40', 'no-token')
        driver.find_element(By.ID, 'kickstart').send_keys('lang en_US.UTF-8\n')
        driver.find_element(By.ID, 'submit-button').click()
        wait(driver, 10, 'the token message', lambda d: d.find_element(By.ID, 'token-error').is_displayed())
        message = text_of(driver, 'token-error')
        check('not signed in' in message and 'Authorization: Bearer' in message, f'message: {message}')
        print(f'without a token: "{message}"')
        check(driver.switch_to.active_element.get_attribute('id') == 'token', 'focus is not on the token field')
        # A wrong token is refused at sign-in, next to the field, and not kept.
        field = driver.find_element(By.ID, 'token')
        field.send_keys('wrong-token')
        driver.find_element(By.CSS_SELECTOR, '#signin-form button[type="submit"]').click()
        wait(driver, 10, 'the sign-in error', lambda d: 'does not accept this token' in text_of(d, 'signin-status'))
        print(f'signing in with a wrong token: "{text_of(driver, "signin-status")}"')
        check(driver.execute_script('return sessionStorage.length') == 0, 'a refused token was stored')
        check(field.get_attribute('aria-invalid') == 'true', 'the token field is not marked invalid')
        check(driver.find_element(By.ID, 'signin-form').is_displayed(), 'the sign-in form is gone')
        check(not driver.find_element(By.ID, 'signout').is_displayed(), 'a refused token shows "Sign out"')
        # A token kept from before that the server no longer accepts is
        # dropped when a page opens, saying why.
        driver.execute_script('sessionStorage.setItem("imagebuild.token", "revoked-token")')
        driver.get(base + '/submit')
        wait(driver, 10, 'the dropped token', lambda d: 'Signed out' in text_of(d, 'signin-status'))
        check(driver.execute_script('return sessionStorage.length') == 0, 'a revoked token was kept')
        # One revoked after the page checked it: the write says so.
        fill_form(driver, 'oemdrv', 'x86_64', '40', 'wrong-token')
        driver.execute_script('sessionStorage.setItem("imagebuild.token", "revoked-token")')
        driver.find_element(By.ID, 'kickstart').send_keys('lang en_US.UTF-8\n')
        driver.find_element(By.ID, 'submit-button').click()
        wait(driver, 10, 'the token message', lambda d: d.find_element(By.ID, 'token-error').is_displayed())
        message = text_of(driver, 'token-error')
        check('refused your token' in message, f'message: {message}')
        print(f'with a wrong token: "{message}"')
        check('/submit' in driver.current_url, 'a refused form left the page')
        no_script_errors(driver)
    finally:
        driver.quit()
    after = api(base, '/v1/builds?limit=1&offset=0')['total']
    check(after == before, f'refused forms submitted builds: {before} -> {after}')


def case_bad_upload(base, out, bad_tar):
    """A tar with an entry outside the tree is refused next to the file field; nothing is submitted."""
    before = api(base, '/v1/builds?limit=1&offset=0')['total']
    driver = browser()
    try:
        sign_in(driver, base)
        driver.get(base + '/submit')
        fill_form(driver, 'oemdrv', 'x86_64', '40', 'bad-tree')
        driver.find_element(By.CSS_SELECTOR, 'input[name="ks-source"][value="upload"]').click()
        driver.find_element(By.ID, 'kickstart_file').send_keys(bad_tar)
        driver.find_element(By.ID, 'submit-button').click()
        wait(driver, 10, 'the upload error', lambda d: d.find_element(By.ID, 'kickstart_file-error').is_displayed())
        message = text_of(driver, 'kickstart_file-error')
        check('../' in message, f'the message does not name the bad entry: {message}')
        check('/submit' in driver.current_url, 'a refused form left the page')
        print(f'a tar with a ../ entry: "{message}"')
        no_script_errors(driver)
    finally:
        driver.quit()
    after = api(base, '/v1/builds?limit=1&offset=0')['total']
    check(after == before, f'a refused upload submitted a build: {before} -> {after}')


def case_offered_types(base, out, offered, absent):
    """The form's image types: those in `offered` are there, those in `absent` (or '-') are not."""
    driver = browser()
    try:
        driver.get(base + '/submit')
        wanted = offered.split(',')
        options = lambda d: [o.get_attribute('value') for o in Select(d.find_element(By.ID, 'type')).options]
        wait(driver, 15, f'the image types {wanted}', lambda d: all(t in options(d) for t in wanted))
        shown = options(driver)
        unwanted = [t for t in absent.split(',') if t != '-' and t in shown]
        check(not unwanted, f'offered although no healthy host builds them: {unwanted} (offered: {shown})')
        print(f'image types offered: {", ".join(shown)}')
        no_script_errors(driver)
    finally:
        driver.quit()


def case_no_javascript(base, out, build_id):
    """Without JavaScript a finished build's log is one link away."""
    driver = browser(javascript=False)
    try:
        driver.get(f'{base}/builds/{build_id}')
        link = driver.find_element(By.PARTIAL_LINK_TEXT, "the build's log")
        link.click()
        wait(driver, 10, 'the monitor page', lambda d: d.find_elements(By.ID, 'log'))
        log = text_of(driver, 'log')
        check(log.strip() and 'no output yet' not in log, f'no log without JavaScript: {log[:300]}')
        check('succeeded' in driver.find_element(By.TAG_NAME, 'body').text, 'the result is not shown')
        print(f'without JavaScript: {len(log.splitlines())} log lines of {build_id}')
    finally:
        driver.quit()


def ms(value):
    return '?' if value is None else f'{value:.0f}'


def case_performance(base, out, expected_total, runs='5'):
    """First paint of the dashboard with the fleet's builds; printed, not asserted. The first
    load (cold: nothing cached in this browser) and `runs` more are measured; for each the
    first contentful paint, when the builds table was drawn, and where the time went (the
    page and its modules, the /v1/builds and /v1/hosts answers, drawing)."""
    driver = browser()
    measure = '''
        const paint = performance.getEntriesByName('first-contentful-paint')[0];
        const rendered = performance.getEntriesByName('imagebuild-builds-rendered')[0];
        const nav = performance.getEntriesByType('navigation')[0];
        const resources = performance.getEntriesByType('resource');
        const size = (e) => e.encodedBodySize || e.transferSize || 0;
        const api = resources.filter((r) => r.name.includes('/v1/'));
        const statics = resources.filter((r) => !r.name.includes('/v1/'));
        const first = (part) => resources.find((r) => r.name.includes(part));
        const span = (r) => r ? {start: r.startTime, wait: r.responseStart - r.requestStart, end: r.responseEnd} : null;
        return {
            fcp: paint ? paint.startTime : null,
            builds: rendered.startTime,
            html: nav.responseEnd,
            scripts: Math.max(...statics.filter((r) => r.name.endsWith('.js')).map((r) => r.responseEnd)),
            buildsApi: span(first('/v1/builds')),
            hostsApi: span(first('/v1/hosts')),
            page: size(nav) + statics.reduce((s, r) => s + size(r), 0),
            api: api.reduce((s, r) => s + size(r), 0),
            buildsBytes: size(first('/v1/builds') || {}),
            files: statics.map((r) => r.name.split('/').pop()),
        };'''
    results = []
    try:
        for run in range(int(runs) + 1):
            driver.get('about:blank')
            driver.get(base + '/')
            # The /v1/hosts answer may come after the table is drawn (a loaded
            # machine): its timing entry exists only once it has ended.
            wait(driver, 60, 'the builds table, the first paint and the hosts answer',
                 lambda d: d.execute_script(
                     "return performance.getEntriesByName('imagebuild-builds-rendered').length &&"
                     " performance.getEntriesByName('first-contentful-paint').length &&"
                     " performance.getEntriesByType('resource').some("
                     "(r) => r.name.includes('/v1/hosts') && r.responseEnd > 0)"))
            t = driver.execute_script(measure)
            results.append(t)
            b, h = t['buildsApi'], t['hostsApi']
            print(f'PERF load {run + 1}{" (cold)" if run == 0 else ""}: first contentful paint {ms(t["fcp"])} ms, '
                  f'builds table drawn at {t["builds"]:.0f} ms; HTML at {t["html"]:.0f} ms, modules at '
                  f'{t["scripts"]:.0f} ms; /v1/builds asked at {b["start"]:.0f} ms, server {b["wait"]:.0f} ms, '
                  f'answered at {b["end"]:.0f} ms; /v1/hosts asked at {h["start"]:.0f} ms, '
                  f'server {h["wait"]:.0f} ms; the table drawn {t["builds"] - b["end"]:.0f} ms after the answer')
        # One page by cursor: 50 rows and an "Older" button, never the whole list.
        rows = driver.execute_script("return document.querySelectorAll('#builds tbody tr').length")
        check(rows == 50, f'the dashboard shows {rows} rows, expected a page of 50')
        check(driver.find_element(By.ID, 'next').is_enabled(), 'no "Older" page with 10,000 builds')
        first_page = [r.text for r in driver.find_elements(By.CSS_SELECTOR, '#builds tbody tr td:first-child')]
        driver.find_element(By.ID, 'next').click()
        wait(driver, 30, 'the older page', lambda d: text_of(d, 'page-info') == '51–100')
        older = [r.text for r in driver.find_elements(By.CSS_SELECTOR, '#builds tbody tr td:first-child')]
        check(len(older) == 50 and not set(older) & set(first_page),
              f'the older page repeats builds of the first: {sorted(set(older) & set(first_page))[:5]}')
        check('cursor=' in driver.current_url, f'the page URL keeps no cursor: {driver.current_url}')
        driver.find_element(By.ID, 'prev').click()
        wait(driver, 30, 'the newest page again', lambda d: text_of(d, 'page-info') == '1–50')
        total = expected_total
        warm = sorted(results[1:], key=lambda t: t['builds'])
        median = warm[len(warm) // 2]
        print(f'PERF dashboard with {total} builds in the fleet, median of {len(warm)} loads after the first: '
              f'first contentful paint {ms(median["fcp"])} ms, builds table drawn at {median["builds"]:.0f} ms '
              f'(range {warm[0]["builds"]:.0f}-{warm[-1]["builds"]:.0f} ms; first load {results[0]["builds"]:.0f} ms)')
        print(f'PERF page weight: {median["page"]} bytes (HTML, CSS, scripts: {", ".join(median["files"])}), '
              f'plus {median["api"]} bytes of API answers ({median["buildsBytes"]} of them the builds page)')
        screenshot(driver, out, 'dashboard-10000.png')
        no_script_errors(driver)
    finally:
        driver.quit()


def case_cancel(base, out, build_id):
    """A running build's Cancel button: disabled with the reason while signed out; signed in
    with a write token, a click (and the confirmation) ends the build cancelled."""
    driver = browser()
    try:
        driver.get(f'{base}/builds/{build_id}')
        wait_for_result(driver, build_id, 'running', seconds=30)
        button = driver.find_element(By.ID, 'cancel')
        wait(driver, 5, 'the Cancel button', lambda d: d.find_element(By.ID, 'cancel').is_displayed())
        check(not button.is_enabled(), 'Cancel is usable while signed out')
        why = text_of(driver, 'cancel-why')
        check('Sign in' in why, f'no reason next to the disabled Cancel: "{why}"')
        print(f'signed out: Cancel is disabled ("{why}")')
        sign_in(driver, base)
        driver.get(f'{base}/builds/{build_id}')
        wait_for_result(driver, build_id, 'running', seconds=30)
        wait(driver, 5, 'Cancel enabled', lambda d: d.find_element(By.ID, 'cancel').is_enabled())
        check(not driver.find_element(By.ID, 'cancel-why').is_displayed(), 'a reason is shown for an enabled Cancel')
        driver.find_element(By.ID, 'cancel').click()
        wait(driver, 5, 'the confirmation', lambda d: d.switch_to.alert)
        driver.switch_to.alert.accept()
        wait_for_result(driver, build_id, 'cancelled', seconds=30)
        wait(driver, 10, 'Cancel gone once the build ended',
             lambda d: not d.find_element(By.ID, 'cancel-row').is_displayed())
        check('Finished: cancelled' in text_of(driver, 'timeline'), 'the timeline does not say cancelled')
        state = api(base, f'/v1/builds/{build_id}')
        check(state['result'] == 'cancelled', f'the API says {state["state"]}/{state["result"]}')
        print(f'{build_id}: cancelled from its page')
        no_script_errors(driver)
    finally:
        driver.quit()


def tab_through(driver, presses):
    """Presses Tab `presses` times on a freshly loaded page; returns what had the focus
    after each press: (id or tag:text, a visible focus ring and on screen?). Past the
    last control the focus leaves the page: those presses are not counted."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    seen = []
    for _ in range(presses):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        seen.append(driver.execute_script('''
            const e = document.activeElement;
            if (!e || e === document.body) { return null; }
            const style = getComputedStyle(e);
            const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 &&
                e.matches(':focus-visible');
            const r = e.getBoundingClientRect();
            const onScreen = r.right > 0 && r.left >= 0 && r.bottom > 0 && r.top < window.innerHeight;
            const name = e.id || `${e.tagName.toLowerCase()}:${(e.textContent || e.value || '').trim().slice(0, 30)}`;
            return [name, ring && onScreen];'''))
    return [item for item in seen if item]


def in_order(seen, wanted):
    """`wanted` appear in `seen` in this order (other elements between them allowed)."""
    names = [name for name, *_ in seen]
    position = -1
    for item in wanted:
        try:
            position = names.index(item, position + 1)
        except ValueError:
            raise Failed(f'Tab does not reach {item} after {names[position] if position >= 0 else "the top"}: '
                         f'the order is {names}')


def case_keyboard(base, out):
    """The keyboard alone: Tab reaches the skip link, the sign-in box, the dashboard's filters and
    pager, every field of the form and its submit button, in reading order, each with a visible
    focus ring; Enter signs in and submits the form."""
    from selenium.webdriver.common.keys import Keys
    driver = browser()
    try:
        driver.get(base + '/')
        wait(driver, 15, 'the builds table', lambda d: d.execute_script(
            "return performance.getEntriesByName('imagebuild-builds-rendered').length"))
        seen = tab_through(driver, 20)
        in_order(seen, ['a:Skip to content', 'a:Dashboard', 'token', 'f-state', 'f-host', 'f-arch', 'f-release', 'f-type',
                        'button:Clear filters'])
        unringed = [name for name, visible in seen if not visible]
        check(not unringed, f'focused without a visible focus ring on screen: {unringed}')
        print(f'dashboard, Tab order: {" > ".join(name for name, *_ in seen)}')

        driver.get(base + '/submit')
        wait(driver, 10, 'the image types', lambda d: 'oemdrv' in [o.get_attribute('value')
             for o in Select(d.find_element(By.ID, 'type')).options])
        # Enter in the token field signs in.
        driver.find_element(By.ID, 'token').send_keys(TOKEN + Keys.ENTER)
        wait(driver, 10, 'signed in by Enter', lambda d: text_of(d, 'signin-status').startswith('Signed in as '))
        driver.get(base + '/submit')
        wait(driver, 10, 'the signed-in page', lambda d: text_of(d, 'signin-status').startswith('Signed in as '))
        wait(driver, 10, 'the image types', lambda d: d.find_elements(By.CSS_SELECTOR, '#type option'))
        seen = tab_through(driver, 30)
        in_order(seen, ['signout', 'type', 'arch', 'release', 'name', 'kickstart', 'notify', 'labels',
                        'timeout_sec', 'submit-button'])
        unringed = [name for name, visible in seen if not visible]
        check(not unringed, f'focused without a visible focus ring on screen: {unringed}')
        print(f'submit form, Tab order: {" > ".join(name for name, *_ in seen)}')
        # Filled and sent from the keyboard: Enter in a text field submits the form.
        fill_form(driver, 'oemdrv', 'x86_64', '40')
        driver.find_element(By.ID, 'kickstart').send_keys('lang en_US.UTF-8\n')
        driver.find_element(By.ID, 'name').send_keys('keyboard' + Keys.ENTER)
        build_id = go_to_build_page(driver)
        print(f'Enter in the name field submitted the form: {build_id}')
        no_script_errors(driver)
    finally:
        driver.quit()


CONTRAST_SCRIPT = '''
// WCAG 2 contrast of every visible piece of text against the colour behind it.
const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
const parse = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
const over = ([r, g, b, a = 1], [br, bg, bb]) => [r * a + br * (1 - a), g * a + bg * (1 - a), b * a + bb * (1 - a)];
function background(e) {
    const layers = [];
    for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
        const c = parse(getComputedStyle(n).backgroundColor);
        if (c.length === 4 && c[3] === 0) { continue; }
        layers.push(c);
        if (c.length === 3 || c[3] === 1) { break; }
    }
    return layers.reverse().reduce((under, c) => over(c, under), [255, 255, 255]);
}
const results = [];
for (const e of document.querySelectorAll('body *')) {
    const text = [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim()
        || ((e.tagName === 'INPUT' || e.tagName === 'SELECT') && e.type !== 'hidden' ? (e.value || '').trim() : '');
    if (!text || !e.getClientRects().length || e.closest('[hidden], template, .sr-only, noscript, option')) { continue; }
    if (e.disabled || e.closest('button:disabled')) { continue; }  // WCAG 1.4.3 exempts inactive controls
    const style = getComputedStyle(e);
    if (style.visibility === 'hidden' || parseFloat(style.opacity) === 0) { continue; }
    const bg = background(e);
    const fg = over(parse(style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    results.push({what: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).split(' ').join('.') : ''),
                  text: text.slice(0, 40), ratio: Math.round(ratio * 100) / 100, size: style.fontSize});
}
return results;
'''


def check_contrast(driver, page, kinds):
    results = driver.execute_script(CONTRAST_SCRIPT)
    check(results, f'{page}: no text found')
    low = [r for r in results if r['ratio'] < 4.5]
    check(not low, f'{page}: text under 4.5:1 contrast: {low[:8]}')
    tags = {r['what'].split('#')[0].split('.')[0] for r in results}
    missing = [k for k in kinds if k not in tags]
    check(not missing, f'{page}: no {missing} among the checked text ({sorted(tags)})')
    lowest = min(results, key=lambda r: r['ratio'])
    print(f'{page}: {len(results)} pieces of text, lowest contrast {lowest["ratio"]}:1 ({lowest["what"]} "{lowest["text"]}")')


def case_contrast(base, out, build_id):
    """Every visible piece of text on the dashboard, a build page (signed out, then with a
    field error on the form) has at least 4.5:1 contrast with what is behind it."""
    driver = browser()
    try:
        driver.get(base + '/')
        wait(driver, 15, f'build {build_id} on the dashboard', lambda d: d.find_elements(By.LINK_TEXT, build_id))
        check_contrast(driver, 'dashboard', ['td', 'th', 'a', 'button', 'label', 'span', 'h2'])
        driver.get(f'{base}/builds/{build_id}')
        wait(driver, 15, 'the complete log', lambda d: 'the log is complete' in text_of(d, 'log-status'))
        check_contrast(driver, 'build page', ['dd', 'dt', 'a', 'button', 'pre', 'td', 'input'])
        driver.get(base + '/submit')
        wait(driver, 10, 'the image types', lambda d: d.find_elements(By.CSS_SELECTOR, '#type option'))
        driver.find_element(By.ID, 'name').send_keys('not a name!')
        driver.find_element(By.ID, 'submit-button').click()
        wait(driver, 5, 'the name error', lambda d: d.find_element(By.ID, 'name-error').is_displayed())
        check_contrast(driver, 'submit form with errors', ['label', 'legend', 'button', 'p', 'input'])
        no_script_errors(driver)
    finally:
        driver.quit()


def case_phone(base, out, build_id):
    """On a 375 px wide phone the dashboard and a build page scroll no page sideways."""
    driver = browser()
    try:
        as_phone(driver)
        driver.get(base + '/')
        wait(driver, 15, f'build {build_id} on the dashboard', lambda d: d.find_elements(By.LINK_TEXT, build_id))
        no_sideways_scroll(driver, 'the dashboard')
        driver.get(f'{base}/builds/{build_id}')
        wait(driver, 15, 'the complete log', lambda d: 'the log is complete' in text_of(d, 'log-status'))
        driver.find_element(By.CSS_SELECTOR, '#kickstart-details summary').click()
        wait(driver, 10, 'the kickstart', lambda d: d.find_element(By.ID, 'kickstart').text.strip())
        no_sideways_scroll(driver, 'the build page')
        screenshot(driver, out, 'build-phone.png')
        driver.get(base + '/submit')
        wait(driver, 10, 'the image types', lambda d: d.find_elements(By.CSS_SELECTOR, '#type option'))
        no_sideways_scroll(driver, 'the submit form')
        no_script_errors(driver)
    finally:
        driver.quit()


def chart_of(driver, canvas_id):
    """The Chart.js chart on a canvas: its labels and datasets, or None."""
    return driver.execute_script('''
        const canvas = document.getElementById(arguments[0]);
        const chart = window.Chart && canvas && window.Chart.getChart(canvas);
        if (!chart) { return null; }
        return {labels: chart.data.labels, width: canvas.width, height: canvas.height,
                datasets: chart.data.datasets.map((d) => ({label: d.label, outcome: d.outcome || '', data: d.data}))};''',
        canvas_id)


def facts(driver, list_id):
    """A <dl class="facts"> as {term: text}."""
    return driver.execute_script('''
        const out = {};
        for (const dt of document.querySelectorAll(`#${arguments[0]} dt`)) {
            out[dt.textContent] = dt.nextElementSibling.textContent;
        }
        return out;''', list_id)


def utc_day(usec):
    return time.strftime('%Y-%m-%d', time.gmtime(usec // 1000000))


def todays_outcomes(base):
    """What /v1/builds says today's (UTC) builds became: {outcome: count}."""
    today = utc_day(int(time.time() * 1e6))
    outcomes = {}
    for build in api(base, '/v1/builds')['builds']:
        if utc_day(build['submitted_at']) == today:
            key = build['state'] + (':' + build['failure_class'] if build.get('failure_class') else '')
            outcomes[key] = outcomes.get(key, 0) + 1
    return today, outcomes


def case_stats(base, out, build_id):
    """The last 14 days: three charts drawn by Debian's Chart.js, today's bar the builds
    of today; a build page's time bar and resource record."""
    driver = browser()
    try:
        driver.get(base + '/stats')
        per_day = wait(driver, 15, 'the per-day chart', lambda d: chart_of(d, 'per-day-chart'))
        check(per_day['width'] > 0 and per_day['height'] > 0, f'the per-day canvas is empty: {per_day}')
        check(len(per_day['labels']) == 14, f'the chart has {len(per_day["labels"])} days, not 14')
        today, expected = todays_outcomes(base)
        check(per_day['labels'][-1] == today, f'the last day is {per_day["labels"][-1]}, not today ({today})')
        drawn = {d['outcome']: d['data'][-1] for d in per_day['datasets'] if d['data'][-1]}
        check(drawn == expected, f'today\'s bar is {drawn}; the builds of today are {expected}')
        check(sum(drawn.values()) >= 2, f'today\'s bar has fewer builds than the suite ran: {drawn}')
        print(f'per-day chart: 14 days, today ({today}) {drawn}')
        check(not driver.find_element(By.ID, 'charts-missing').is_displayed(), 'the page says Chart.js is missing')
        rows = driver.find_elements(By.CSS_SELECTOR, '#per-day tbody tr')
        check(len(rows) == 14, f'the per-day table has {len(rows)} rows')
        stats = api(base, '/v1/stats')
        for canvas, label, by in (('per-type-chart', 'oemdrv', 'per_type'), ('per-host-chart', 'a', 'per_host')):
            chart = wait(driver, 10, f'the chart {canvas}', lambda d: chart_of(d, canvas))
            check(label in chart['labels'], f'{canvas} has no {label}: {chart["labels"]}')
            median = next(d for d in chart['datasets'] if d['label'] == 'duration, median')
            want = stats['duration'][by][label]['median_usec'] / 1e6
            got = median['data'][chart['labels'].index(label)]
            check(abs(got - want) < 1e-6, f'{canvas}: median duration of {label} drawn {got} s, /v1/stats says {want} s')
            print(f'{canvas}: {chart["labels"]}, median duration of {label} {got} s')
        screenshot(driver, out, 'stats.png')
        no_script_errors(driver)

        build = api(base, f'/v1/builds/{build_id}')
        driver.get(f'{base}/builds/{build_id}')
        bar = wait(driver, 15, 'the time bar', lambda d: chart_of(d, 'time-chart'))
        spent = {d['label']: d['data'][0] for d in bar['datasets']}
        queued = (build['started_at'] - build['submitted_at']) / 1e6
        running = (build['finished_at'] - build['started_at']) / 1e6
        check(abs(spent['queued'] - queued) < 1e-6 and abs(spent['running'] - running) < 1e-6,
              f'the time bar is {spent}; the record says queued {queued} s, running {running} s')
        if build.get('staged_at'):
            staging = (build['staged_at'] - build['finished_at']) / 1e6
            check(abs(spent['staging'] - staging) < 1e-6, f'staging drawn {spent["staging"]} s, not {staging} s')
        listed = facts(driver, 'time-spent')
        check(set(listed) == {'Queued', 'Running', 'Staging'}, f'the time list is {listed}')
        resources = facts(driver, 'resources')
        record = build.get('resources') or {}
        keys = {'CPU time': 'cpu_usec', 'Peak memory': 'memory_peak_bytes', 'Read from disk': 'io_read_bytes',
                'Written to disk': 'io_write_bytes', 'Wall time': 'wall_usec'}
        check(set(resources) == set(keys), f'the resources list is {resources}')
        for term, key in keys.items():
            missing = record.get(key) is None
            check((resources[term] == 'not available') == missing,
                  f'{term} reads "{resources[term]}" where the record has {record.get(key)!r}')
        print(f'build page: time bar {spent}, resources {resources}')
        screenshot(driver, out, 'build-time.png')
        no_script_errors(driver)
    finally:
        driver.quit()


def case_stats_without_chartjs(base, out, build_id):
    """Without libjs-chart.js the pages say what the charts need and show the numbers."""
    driver = browser()
    try:
        driver.get(base + '/stats')
        wait(driver, 15, 'the per-day table', lambda d: len(d.find_elements(By.CSS_SELECTOR, '#per-day tbody tr')) == 14)
        check(driver.execute_script('return typeof window.Chart') == 'undefined', 'Chart.js loaded after all')
        note = driver.find_element(By.ID, 'charts-missing')
        check(note.is_displayed() and 'libjs-chart.js' in note.text, 'the page does not say the charts need libjs-chart.js')
        check(not driver.find_element(By.ID, 'per-day-chart').is_displayed(), 'an empty chart is shown')
        check('oemdrv' in text_of(driver, 'per-type'), 'the per-type table does not list oemdrv')
        today = utc_day(int(time.time() * 1e6))
        row = driver.find_element(By.XPATH, f'//table[@id="per-day"]//th[text()="{today}"]/..')
        check(int(row.find_elements(By.TAG_NAME, 'td')[0].text) >= 2, f'today\'s row counts fewer builds: {row.text}')
        print(f'stats without Chart.js: tables only; today: {row.text}')
        screenshot(driver, out, 'stats-no-chartjs.png')
        driver.get(f'{base}/builds/{build_id}')
        wait(driver, 15, 'the time list', lambda d: 'Queued' in text_of(d, 'time-spent'))
        check(driver.find_element(By.ID, 'time-chart-missing').is_displayed(), 'the build page does not say the bar needs libjs-chart.js')
        check(not driver.find_element(By.ID, 'time-chart').is_displayed(), 'an empty time bar is shown')
        print('build page without Chart.js: the time list alone')
    finally:
        driver.quit()


def case_stalled(base, out, build_id):
    """A build whose log falls silent for its type's stall_timeout: its page shows the
    stalled badge live (the SSE `stalled` event), drops it when the log writes again
    (`unstalled`), and shows it again when the log falls silent again; no reload."""
    driver = browser()
    try:
        driver.get(f'{base}/builds/{build_id}')
        wait_for_result(driver, build_id, 'running', seconds=30)
        badge = lambda d: d.find_elements(By.ID, 'stalled')
        wait(driver, 30, 'the stalled badge', lambda d: badge(d) and badge(d)[0].is_displayed())
        check(text_of(driver, 'stalled') == 'stalled', f'the badge says "{text_of(driver, "stalled")}"')
        check('no log line since' in driver.find_element(By.ID, 'stalled').find_element(
            By.XPATH, '..').text, 'no "no log line since" next to the badge')
        screenshot(driver, out, 'build-stalled.png')
        print(f'{build_id}: stalled badge shown')
        # The log writes "again": the badge goes, then the build falls silent again.
        wait(driver, 30, 'the badge to go once the log writes again', lambda d: not badge(d))
        print(f'{build_id}: badge gone when the log wrote again')
        wait(driver, 30, 'the badge again', lambda d: badge(d) and badge(d)[0].is_displayed())
        print(f'{build_id}: stalled again')
        no_script_errors(driver)
    finally:
        driver.quit()


CASES = {
    'dashboard': case_dashboard,
    'submit-tree': case_submit_tree,
    'xss': case_xss,
    'no-token': case_no_token,
    'bad-upload': case_bad_upload,
    'offered-types': case_offered_types,
    'no-javascript': case_no_javascript,
    'performance': case_performance,
    'cancel': case_cancel,
    'keyboard': case_keyboard,
    'contrast': case_contrast,
    'phone': case_phone,
    'stats': case_stats,
    'stats-no-chartjs': case_stats_without_chartjs,
    'stalled': case_stalled,
}

if __name__ == '__main__':
    case, base, out, *rest = sys.argv[1:]
    if any(not arg for arg in rest):
        print(f'FAILED: an empty argument for case {case}: {rest}')
        sys.exit(1)
    os.makedirs(out, exist_ok=True)
    try:
        CASES[case](base, out, *rest)
    except Failed as failure:
        print(f'FAILED: {failure}')
        sys.exit(1)
