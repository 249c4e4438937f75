// Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
// SPDX-License-Identifier: BSD-2-Clause

'use strict';
// End-to-end test of "Connect with Intercom" in a real browser.
//
// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// with JavaScript turned off in the pages, against nginx with the module
// serving conf/quickstart.conf (util/run-demo) and the local Intercom
// stand-in.  Chromium trusts the test CA (build/certs/ca.crt) through an NSS
// database in a throw-away HOME, so TLS is verified on every hop, as for a
// user.  Screenshots of every step go to e2e/screenshots/.
//
//   make e2e          (installs what it needs, builds, runs this)
//   node --test e2e/connect.test.js      with the environment below
//
// Environment: E2E_MODULE (the built .so, required), E2E_PORT (7443),
// E2E_STANDIN_PORT (7444), E2E_RUN_DIR (build/e2e-run), E2E_CHROMIUM
// (/usr/bin/chromium), E2E_SCREENSHOTS (e2e/screenshots).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const root = path.resolve(__dirname, '..');
const port = process.env.E2E_PORT || '7443';
const standinPort = process.env.E2E_STANDIN_PORT || '7444';
const runDir = path.resolve(process.env.E2E_RUN_DIR || path.join(root, 'build/e2e-run'));
const chromiumPath = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const shots = path.resolve(process.env.E2E_SCREENSHOTS || path.join(__dirname, 'screenshots'));
const caFile = path.join(root, 'build/certs/ca.crt');
const site = `https://localhost:${port}`;
const standin = `https://localhost:${standinPort}`;

const demoEnv = { ...process.env, PORT: port, STANDIN_PORT: standinPort, RUN_DIR: runDir };
delete demoEnv.INTERCOM_CLIENT_ID;           // the stand-in, never Intercom
delete demoEnv.INTERCOM_CLIENT_SECRET_FILE;

let context;
let page;
let tmp;
let stopped = true;
const requests = [];                        // every URL the pages asked for

function stopDemo() {
    if (stopped) {
        return;
    }
    stopped = true;
    try {
        execFileSync(path.join(root, 'util/run-demo'), ['--stop'],
                     { env: demoEnv, stdio: 'ignore' });
    } catch (e) {
        process.stderr.write(`stopping the demo failed: ${e.message}\n`);
    }
}

// nginx and the stand-in go away however this process ends
process.on('exit', stopDemo);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => { stopDemo(); process.exit(128 + os.constants.signals[sig]); });
}

function shot(name, opts = {}) {
    return page.screenshot({ path: path.join(shots, name), ...opts });
}

// Valid HTML5: html5lib's strict parser (any parse error fails) and tidy
// (errors fail, warnings are reported).
function checkHtml(t, name, html) {
    const py = spawnSync('/usr/bin/python3', ['-c',
        'import sys, html5lib\n' +
        'p = html5lib.HTMLParser(strict=True)\n' +
        'try:\n' +
        '    p.parse(sys.stdin.buffer.read())\n' +
        'except html5lib.html5parser.ParseError as e:\n' +
        '    print(e); sys.exit(1)\n'], { input: html });
    assert.equal(py.status, 0, `${name}: html5lib (strict): ${py.stdout}${py.stderr}`);

    const tidy = spawnSync('tidy', ['-q', '-e', '--gnu-emacs', 'no'], { input: html });
    assert.ok(tidy.status === 0 || tidy.status === 1,
              `${name}: tidy found errors:\n${tidy.stderr}`);
    if (tidy.status === 1) {
        t.diagnostic(`${name}: tidy warnings: ${tidy.stderr.toString().trim()}`);
    }
}

// WCAG 2 contrast ratio of an element's text on its background
async function contrast(locator) {
    return locator.evaluate((el) => {
        const rgb = (s) => s.match(/[\d.]+/g).slice(0, 3).map(Number);
        const lum = ([r, g, b]) => {
            const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
            return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const st = getComputedStyle(el);
        const a = lum(rgb(st.color));
        const b = lum(rgb(st.backgroundColor));
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    });
}

async function focusStyle(locator) {
    return locator.evaluate((el) => {
        const st = getComputedStyle(el);
        return { focused: document.activeElement === el,
                 style: st.outlineStyle, width: parseFloat(st.outlineWidth) };
    });
}

// a test that, when it fails, leaves a screenshot and the end of nginx's
// error log in the run directory
function e2e(name, fn) {
    test(name, { timeout: 120000 }, async (t) => {
        try {
            await fn(t);
        } catch (e) {
            if (page) {
                const file = path.join(runDir, `failure-${name.replace(/\W+/g, '-').slice(0, 40)}.png`);
                await page.screenshot({ path: file }).catch(() => {});
                t.diagnostic(`failed on ${page.url()}; screenshot: ${file}`);
            }
            const log = path.join(runDir, 'logs/error.log');
            if (fs.existsSync(log)) {
                t.diagnostic(`end of ${log}:\n${fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}`);
            }
            throw e;
        }
    });
}

async function goto(url) {
    const res = await page.goto(url);
    assert.ok(res, `no response for ${url}`);
    return res;
}

before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    const module = process.env.E2E_MODULE;
    assert.ok(module && fs.existsSync(module), 'E2E_MODULE must name the built module');

    stopped = false;
    execFileSync(path.join(root, 'util/run-demo'), [module, '--background'],
                 { env: demoEnv, stdio: ['ignore', 'ignore', 'inherit'] });

    // a fresh profile and a fresh HOME whose NSS database trusts the test CA
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'intercom-e2e-'));
    const nss = path.join(tmp, 'home/.pki/nssdb');
    fs.mkdirSync(nss, { recursive: true });
    execFileSync('certutil', ['-d', `sql:${nss}`, '-N', '--empty-password']);
    execFileSync('certutil', ['-d', `sql:${nss}`, '-A', '-t', 'C,,',
                              '-n', 'intercom-oauth test CA', '-i', caFile]);

    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
        executablePath: chromiumPath,
        headless: true,
        args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic',
               '--no-first-run', '--disable-background-networking',
               '--disable-component-update', '--disable-sync'],
        env: { ...process.env, HOME: path.join(tmp, 'home') },
        javaScriptEnabled: false,           // the flow must work without it
        ignoreHTTPSErrors: false,           // the test CA is trusted instead
        viewport: { width: 800, height: 520 },
        locale: 'en-US',
    });
    context.on('request', (req) => requests.push(req.url()));
    page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(15000);
});

after(async () => {
    try {
        if (context) {
            await context.close();
        }
    } finally {
        stopDemo();
        if (tmp) {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    }
});

e2e('the browser runs with JavaScript off in the pages', async () => {
    await page.route(`${site}/js-check`, (route) => route.fulfill({
        contentType: 'text/html; charset=utf-8',
        body: '<!DOCTYPE html><title>off</title><script>document.title = "on"</script>',
    }));
    await goto(`${site}/js-check`);
    assert.equal(await page.title(), 'off');
    await page.unroute(`${site}/js-check`);
    requests.length = 0;
});

e2e('approve: home -> connect page -> Intercom consent -> success page with /me', async (t) => {
    let res = await goto(`${site}/`);
    assert.equal(res.status(), 200);
    await assert.doesNotReject(page.getByText('not connected to Intercom yet').waitFor());
    checkHtml(t, 'home page', await res.text());
    await shot('01-home.png');

    // the home page's link leads to the built-in connect page
    const connectPage = page.waitForResponse(`${site}/connect`);
    await page.getByRole('link', { name: 'Connect with Intercom' }).click();
    res = await connectPage;
    await page.waitForURL(`${site}/connect`);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^text\/html/);
    assert.equal(res.headers()['cache-control'], 'no-store');
    checkHtml(t, 'connect page', await res.text());
    assert.equal(await page.title(), 'Connect with Intercom');
    assert.equal(await page.locator('script').count(), 0, 'the connect page has no script');

    // one link, named by its text, styled like Intercom's button
    const button = page.getByRole('link', { name: 'Connect with Intercom', exact: true });
    assert.equal(await button.count(), 1);
    assert.ok((await button.getAttribute('href')).startsWith(`${standin}/oauth?client_id=demo-client&state=`));
    const ratio = await contrast(button);
    assert.ok(ratio >= 4.5, `button text contrast ${ratio.toFixed(2)} is below 4.5:1`);
    t.diagnostic(`button text contrast ${ratio.toFixed(2)}:1`);
    await shot('02-connect.png');

    // keyboard: Tab reaches the button and shows a focus ring
    await page.keyboard.press('Tab');
    const focus = await focusStyle(button);
    assert.ok(focus.focused, 'Tab focuses the button');
    assert.notEqual(focus.style, 'none', 'the focused button has an outline');
    assert.ok(focus.width >= 2, `the focus outline is ${focus.width}px wide`);
    await shot('03-connect-keyboard-focus.png');

    // nothing on the site's pages came from another site
    const foreign = requests.filter((u) => !u.startsWith(`${site}/`));
    assert.deepEqual(foreign, [], 'the pages loaded nothing from another origin');

    await button.click();
    await page.waitForURL(`${standin}/oauth?**`);
    await assert.doesNotReject(page.getByRole('heading', { name: /Connect Quickstart site/ }).waitFor());
    // the state differs on every run: masked, so that the picture does not
    await shot('04-consent.png', { mask: [page.locator('dd').last()], maskColor: '#c8c8c8' });

    const callback = page.waitForResponse((r) => r.url().startsWith(`${site}/intercom/callback?`));
    const success = page.waitForResponse(`${site}/home`);
    await page.getByRole('link', { name: 'Approve' }).click();
    res = await callback;
    assert.equal(res.status(), 302, 'the callback exchanged the code and redirects');
    assert.equal(res.headers()['location'], `${site}/home`);
    res = await success;
    await page.waitForURL(`${site}/home`);
    await page.getByRole('heading', { name: 'Connected to Intercom' }).waitFor();
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['cache-control'], 'no-store');
    checkHtml(t, 'success page', await res.text());

    assert.equal(await page.locator('#admin').textContent(), 'ada@example.com');
    assert.equal(await page.locator('#workspace').textContent(), 'abc12def');
    const me = JSON.parse(await page.locator('#me').textContent());
    assert.equal(me.type, 'admin');
    assert.equal(me.id, '991267');
    assert.equal(me.email, 'ada@example.com');
    assert.equal(me.app.id_code, 'abc12def');
    await shot('05-success.png', { fullPage: true });

    // the home page now says so
    await goto(`${site}/`);
    await page.getByText('This browser is connected to Intercom.').waitFor();
});

e2e('deny: the keyboard takes the user to Intercom, who says no; nothing is stored', async (t) => {
    await context.clearCookies();            // a new visitor
    await goto(`${site}/`);
    await page.getByText('not connected to Intercom yet').waitFor();
    await page.getByRole('link', { name: 'Connect with Intercom' }).click();
    await page.waitForURL(`${site}/connect`);

    // keyboard only: Tab to the button, Enter follows it
    await page.keyboard.press('Tab');
    assert.ok((await focusStyle(page.getByRole('link', { name: 'Connect with Intercom' }))).focused);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${standin}/oauth?**`);

    const callback = page.waitForResponse((r) => r.url().startsWith(`${site}/intercom/callback?`));
    await page.getByRole('link', { name: 'Deny' }).click();
    const res = await callback;
    assert.equal(res.status(), 403);
    await page.getByRole('heading', { name: 'Connecting to Intercom failed' }).waitFor();
    assert.equal(await page.locator('code').textContent(), 'access_denied');
    checkHtml(t, 'error page', await res.text());
    await shot('06-denied.png');

    const api = await goto(`${site}/intercom-api/me`);
    assert.equal(api.status(), 401, 'no token was stored');
    await goto(`${site}/home`);
    assert.equal(page.url(), `${site}/`, 'the success page sends a visitor without a token home');
    await page.getByText('not connected to Intercom yet').waitFor();
});

e2e('conf/connect-template.html: a custom connect page for intercom_connect_button_template', async (t) => {
    // served as the module would (the placeholder replaced, HTML-escaped)
    const authorize = `${standin}/oauth?client_id=demo-client&amp;state=STATE&amp;redirect_uri=x`;
    const html = fs.readFileSync(path.join(root, 'conf/connect-template.html'), 'utf8')
        .split('{{authorize_url}}').join(authorize);
    checkHtml(t, 'template', html);
    const before = requests.length;
    await page.route(`${site}/template-preview`,
                     (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
    await goto(`${site}/template-preview`);
    assert.equal(await page.locator('script').count(), 0);
    const button = page.getByRole('link', { name: 'Connect with Intercom', exact: true });
    assert.equal(await button.count(), 1);
    assert.equal(await button.getAttribute('href'), authorize.replaceAll('&amp;', '&'));
    const ratio = await contrast(button);
    assert.ok(ratio >= 4.5, `button text contrast ${ratio.toFixed(2)}`);
    await shot('07-template.png');
    await page.keyboard.press('Tab');
    let focus = await focusStyle(button);
    // the page may put a link before the button: tab until it is reached
    for (let i = 0; i < 5 && !focus.focused; i++) {
        await page.keyboard.press('Tab');
        focus = await focusStyle(button);
    }
    assert.ok(focus.focused && focus.style !== 'none' && focus.width >= 2,
              `the button shows a focus ring: ${JSON.stringify(focus)}`);
    await shot('08-template-keyboard-focus.png');
    const foreign = requests.slice(before).filter((u) => !u.startsWith(`${site}/`));
    assert.deepEqual(foreign, [], 'the template loads nothing from another origin');
});

e2e('disconnect removes the app from the workspace; the signed notification that follows finds nothing left', async (t) => {
    await context.clearCookies();            // a new visitor
    await goto(`${site}/connect`);
    await page.getByRole('link', { name: 'Connect with Intercom', exact: true }).click();
    await page.waitForURL(`${standin}/oauth?**`);
    await page.getByRole('link', { name: 'Approve' }).click();
    await page.waitForURL(`${site}/home`);

    // the page says what the button does
    assert.equal((await page.locator('#disconnect-note').textContent()).trim(),
                 'Disconnect removes the app from your Intercom workspace, for every user of it.');

    const disconnect = page.waitForResponse(`${site}/intercom/disconnect`);
    await page.getByRole('button', { name: 'Disconnect Intercom' }).click();
    const res = await disconnect;
    assert.equal(res.status(), 303, 'the form POST (with the browser\'s own Origin) is accepted');
    await page.waitForURL(`${site}/`);
    await page.getByText('not connected to Intercom yet').waitFor();
    const api = await goto(`${site}/intercom-api/me`);
    assert.equal(api.status(), 401, 'the token is gone');

    // the stand-in uninstalled the app and POSTed its signed notification
    // to the quickstart's uninstall location before it answered
    await goto(`${standin}/_standin/notifications`);
    const sent = JSON.parse(await page.locator('body').textContent());
    const last = sent[sent.length - 1];
    assert.equal(last.url, `${site}/intercom/uninstall`);
    assert.equal(last.body, '{"app_id":"abc12def"}');
    assert.match(last.signature, /^[0-9a-f]{64}$/);
    assert.equal(last.status, 200, `the uninstall location answered: ${JSON.stringify(last)}`);
    assert.equal(last.answer, '{"deleted":0}\n', 'the disconnect had deleted the workspace\'s tokens already');
    const log = fs.readFileSync(path.join(runDir, 'logs/error.log'), 'utf8');
    assert.match(log, /uninstall webhook: workspace "abc12def": no token of it is stored, 0 token\(s\) deleted, Intercom not asked/);
    t.diagnostic(`${sent.length} notification(s) sent by the stand-in`);
});

e2e('an install from Intercom\'s App Store ends at the App Store redirect, approved or denied', async () => {
    await context.clearCookies();
    // the listing's "direct installation URL" starts the flow at the site
    await goto(`${site}/intercom/install`);
    await page.waitForURL(`${standin}/oauth?**`);
    const callback = page.waitForResponse((r) => r.url().startsWith(`${site}/intercom/callback?`));
    await page.getByRole('link', { name: 'Approve' }).click();
    let res = await callback;
    assert.equal(res.status(), 302);
    assert.equal(res.headers()['location'], `${standin}/appstore/redirect?install_success=true`);
    await page.waitForURL(`${standin}/appstore/redirect?install_success=true`);
    await page.getByText('The app is installed in your workspace.').waitFor();
    await shot('09-appstore-installed.png');

    await context.clearCookies();
    await goto(`${site}/intercom/install`);
    await page.waitForURL(`${standin}/oauth?**`);
    const denied = page.waitForResponse((r) => r.url().startsWith(`${site}/intercom/callback?`));
    await page.getByRole('link', { name: 'Deny' }).click();
    res = await denied;
    assert.equal(res.status(), 302);
    assert.equal(res.headers()['location'],
                 `${standin}/appstore/redirect?install_success=false&error_message=Installation%20failed%3A%20access_denied`);
    await page.waitForURL(`${standin}/appstore/redirect?**`);
    assert.equal(await page.locator('#error_message').textContent(), 'Installation failed: access_denied');
    await shot('10-appstore-denied.png');
});
