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
        driver.set_window_size(390, 844)
        time.sleep(0.5)
        overflow = driver.execute_script('return document.documentElement.scrollWidth - window.innerWidth')
        check(overflow <= 0, f'on a phone-sized window the page is {overflow} px too wide')
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
    before = api(base, '/v1/builds?limit=1')['total']
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
    after = api(base, '/v1/builds?limit=1')['total']
    check(after == before, f'refused forms submitted builds: {before} -> {after}')


def case_bad_upload(base, out, bad_tar):
    """A tar with an entry outside the tree is refused next to the file field; nothing is submitted."""
    before = api(base, '/v1/builds?limit=1')['total']
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
    after = api(base, '/v1/builds?limit=1')['total']
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


def case_performance(base, out, expected_total):
    """First paint of the dashboard with the fleet's builds; printed, not asserted."""
    driver = browser()
    try:
        # Once to warm the forwarders and the agents, then measured.
        driver.get(base + '/')
        wait(driver, 60, 'the builds table', lambda d: d.execute_script(
            "return performance.getEntriesByName('imagebuild-builds-rendered').length"))
        driver.get('about:blank')
        driver.get(base + '/')
        wait(driver, 60, 'the builds table', lambda d: d.execute_script(
            "return performance.getEntriesByName('imagebuild-builds-rendered').length"))
        total = int(text_of(driver, 'page-info').split(' of ')[1])
        check(total >= int(expected_total), f'the dashboard counts {total} builds, expected at least {expected_total}')
        timings = driver.execute_script('''
            const paint = performance.getEntriesByName('first-contentful-paint')[0];
            const rendered = performance.getEntriesByName('imagebuild-builds-rendered')[0];
            const nav = performance.getEntriesByType('navigation')[0];
            const resources = performance.getEntriesByType('resource');
            const size = (e) => e.encodedBodySize || e.transferSize || 0;
            const api = resources.filter((r) => r.name.includes('/v1/'));
            const statics = resources.filter((r) => !r.name.includes('/v1/'));
            return {
                fcp: paint ? paint.startTime : null,
                builds: rendered.startTime,
                page: size(nav) + statics.reduce((s, r) => s + size(r), 0),
                api: api.reduce((s, r) => s + size(r), 0),
                files: statics.map((r) => r.name.split('/').pop()),
            };''')
        print(f'PERF dashboard with {total} builds in the fleet: first contentful paint '
              f'{timings["fcp"]:.0f} ms, builds table rendered at {timings["builds"]:.0f} ms')
        print(f'PERF page weight: {timings["page"]} bytes (HTML, CSS, scripts: {", ".join(timings["files"])}), '
              f'plus {timings["api"]} bytes of API answers')
        screenshot(driver, out, 'dashboard-10000.png')
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
