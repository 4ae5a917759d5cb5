#!/usr/bin/env python3
"""The token inspector page in a real browser: headless Chromium driven over WebDriver.

Starts `macaroon-mint serve` (a throwaway SQLite directory, an admin from the environment) and
Debian's chromedriver, then for each case loads the page, types a token into it, presses
Inspect and asserts what the page shows; a screenshot of each case is saved under
target/inspector-screenshots/. Cases: an access token the service mints (typed caveats, the
Onedata identifier), the provider registration token it mints (an invite: type and target), a
third-party token (libmacaroons' README example), the damaged registration token of the Onedata
docs (position, reason, recovered part), and a token whose identifier is HTML (shown as text,
never run). Everything it starts is stopped by PID.

Usage: scripts/browser/inspector_test.py [path/to/macaroon-mint]
Needs: /usr/bin/chromium and /usr/bin/chromedriver (Debian packages chromium, chromium-driver).
Only the Python standard library: WebDriver is JSON over HTTP.
"""

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.path.join(ROOT, "target", "inspector-screenshots")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
# The damaged registration token printed on Onedata's registration page (SPEC §14, example A).
DAMAGED = "MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW-0Y8"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--window-size=1100,1500",
]

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class Browser:
    """A WebDriver session on chromedriver."""

    def __init__(self, driver_url, profile):
        self.base = driver_url
        options = {"binary": "/usr/bin/chromium", "args": CHROMIUM_FLAGS + ["--user-data-dir=" + profile]}
        status, answer = http("POST", driver_url + "/session", {
            "capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}},
        }, timeout=120)
        if status != 200:
            raise RuntimeError(f"no WebDriver session: {status} {answer}")
        self.session = f"{driver_url}/session/{answer['value']['sessionId']}"

    def call(self, method, path, body=None):
        status, answer = http(method, self.session + path, body)
        if status != 200:
            raise RuntimeError(f"WebDriver {method} {path}: {status} {answer}")
        return answer["value"]

    def open(self, url):
        self.call("POST", "/url", {"url": url})

    def find(self, css):
        return self.call("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def text(self, css):
        return self.call("GET", f"/element/{self.find(css)}/text")

    def script(self, source, *args):
        return self.call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def type_and_inspect(self, token):
        box = self.find("#token")
        self.call("POST", f"/element/{box}/clear", {})
        self.call("POST", f"/element/{box}/value", {"text": token})
        before = self.script("return document.body.dataset.inspected || '0'")
        self.call("POST", f"/element/{self.find('#inspect')}/click", {})
        for _ in range(100):
            if self.script("return document.body.dataset.inspected || '0'") != before:
                return
            time.sleep(0.05)
        raise RuntimeError("the page did not show a report within 5 s")

    def fields(self, list_css):
        return self.script(
            "return Array.from(document.querySelectorAll(arguments[0] + ' dd'))"
            ".map(d => [d.dataset.field || '', d.textContent]);", list_css)

    def visible(self, css):
        return self.script("return !document.querySelector(arguments[0]).hidden;", css)

    def screenshot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        # The whole report: grow the window to the page's height first.
        height = self.script("return document.documentElement.scrollHeight;")
        self.call("POST", "/window/rect", {"width": 1100, "height": min(int(height) + 40, 4000)})
        path = os.path.join(SHOTS, name + ".png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("GET", "/screenshot")))
        print(f"     screenshot {os.path.relpath(path, ROOT)}")

    def close(self):
        try:
            http("DELETE", self.session)
        except OSError:
            pass


def start_service(binary, data_dir, password):
    env = dict(os.environ, MACAROON_MINT_ADMIN="admin:" + password, RUST_LOG="info")
    process = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        stdout=subprocess.PIPE, stderr=open(os.path.join(os.path.dirname(data_dir), "serve.log"), "w"),
        env=env, text=True)
    first = process.stdout.readline()
    prefix = "macaroon-mint serve: listening on "
    if not first.startswith(prefix):
        process.kill()
        raise RuntimeError("serve did not start: " + first)
    return process, first[len(prefix):].strip()


def mint_access_token(base, password):
    auth = "Basic " + base64.b64encode(("admin:" + password).encode()).decode()
    status, me = http("GET", base + "/api/v3/onezone/user", headers={"Authorization": auth})
    assert status == 200, me
    now = int(time.time())
    status, answer = http("POST", base + "/api/v3/onezone/user/tokens/temporary", {
        "type": {"accessToken": {}},
        "caveats": [
            {"type": "time", "validUntil": now + 3600},
            {"type": "ip", "whitelist": ["127.0.0.1/32"]},
            {"type": "interface", "interface": "rest"},
        ],
    }, headers={"Authorization": auth})
    assert status == 201, answer
    return me["userId"], answer["token"]


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "macaroon-mint"))
    for tool in ("/usr/bin/chromium", "/usr/bin/chromedriver", binary):
        if not os.path.exists(tool):
            sys.exit(f"inspector_test: {tool} is missing")
    work = tempfile.mkdtemp(prefix="macaroon-mint-inspector-")
    os.chmod(work, 0o700)
    password = "pw-" + secrets.token_hex(12)
    started = []
    browser = None
    try:
        service, address = start_service(binary, os.path.join(work, "data"), password)
        started.append(service)
        base = address
        port = free_port()
        driver = subprocess.Popen(["/usr/bin/chromedriver", f"--port={port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(driver)
        driver_url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if http("GET", driver_url + "/status")[1]["value"]["ready"]:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        browser = Browser(driver_url, os.path.join(work, "profile"))

        # The page itself: served at / and /inspect, with its policy.
        with urllib.request.urlopen(base + "/") as response:
            policy = response.headers.get("Content-Security-Policy", "")
            check(response.headers.get_content_type() == "text/html"
                  and policy.startswith("default-src 'none'") and "connect-src 'self'" in policy,
                  "GET / is the page with a strict Content-Security-Policy")

        # 1. A token the service mints: an Onedata access token with typed caveats.
        user_id, token = mint_access_token(base, password)
        browser.open(base + "/inspect")
        check(browser.text("h1") == "Token inspector", "the page loads in Chromium")
        check("nothing is stored" in browser.text("#privacy") and "or logged" in browser.text("#privacy"),
              "the page says nothing is stored or logged")
        browser.type_and_inspect(token)
        check(browser.text("#status") == "Well-formed onedata token — not verified",
              "valid: " + browser.text("#status"))
        check(browser.text("#format") == "onedata", "valid: format " + browser.text("#format"))
        check(browser.text("#location") == "localhost", "valid: location")
        onedata = dict(browser.fields("#onedata-identifier"))
        check(onedata.get("Version") == "2" and onedata.get("Persistence", "").startswith("tmp")
              and onedata.get("Subject") == "usr-" + user_id and onedata.get("Type") == "access",
              f"valid: the Onedata identifier read: {onedata}")
        caveats = browser.script("return Array.from(document.querySelectorAll('#caveats li')).map(li => li.textContent);")
        check(len(caveats) == 3, f"valid: three caveats: {caveats}")
        check(caveats and caveats[0].startswith("time < ") and "time" in caveats[0] and "validUntil" in caveats[0],
              f"valid: the time caveat's typed reading: {caveats[:1]}")
        check(len(caveats) > 1 and "ip" in caveats[1] and "127.0.0.1/32" in caveats[1],
              f"valid: the ip caveat's typed reading: {caveats[1:2]}")
        check(len(caveats) > 2 and "interface" in caveats[2] and '"rest"' in caveats[2],
              f"valid: the interface caveat's typed reading: {caveats[2:3]}")
        check(not browser.visible("#damage-view"), "valid: no damage shown")
        resources = browser.script("return performance.getEntriesByType('resource').map(e => e.name);")
        check(all(name.startswith(base + "/") for name in resources) and base + "/inspect" in resources,
              f"the page loads nothing but its own POST /inspect: {resources}")
        browser.screenshot("valid-onedata-token")

        # 1b. An invite: the provider registration token Onezone's endpoint answers.
        auth = "Basic " + base64.b64encode(("admin:" + password).encode()).decode()
        status, answer = http(
            "POST", f"{base}/api/v3/onezone/users/{user_id}/clusters/provider_registration_token",
            headers={"Authorization": auth})
        check(status == 200, f"the service mints a registration token: {status}")
        registration = answer["token"]
        browser.type_and_inspect(registration)
        onedata = dict(browser.fields("#onedata-identifier"))
        check(onedata.get("Persistence") == "nmd" and onedata.get("Type") == "invite"
              and onedata.get("Invite type") == "rop" and onedata.get("Target") == user_id,
              f"invite: the invite type and target read: {onedata}")
        browser.screenshot("registration-invite-token")

        # 2. A third-party token (libmacaroons' README example, SPEC §11.2).
        with open(os.path.join(ROOT, "tests", "data", "third_party.json")) as f:
            third_party = json.load(f)["tv2"]["serializations"]["root_v1"]
        browser.type_and_inspect(third_party)
        check(browser.text("#status").startswith("Well-formed v1 token"), "third-party: " + browser.text("#status"))
        check(browser.text("#location") == "http://mybank/", "third-party: location")
        check(browser.text("#identifier") == "we used our other secret key", "third-party: identifier")
        caveats = browser.script("return Array.from(document.querySelectorAll('#caveats li')).map(li => li.textContent);")
        check(len(caveats) == 2 and "first-party" in caveats[0]
              and "third-party" in caveats[1] and "location http://auth.mybank/" in caveats[1]
              and "verification id (base64url) AAAAAAAA" in caveats[1],
              f"third-party: caveats with their kind, location and verification id: {caveats}")
        check(not browser.visible("#onedata-view"), "third-party: no Onedata reading for a plain token")
        browser.screenshot("third-party-token")

        # 3. The damaged registration token from the Onedata docs.
        browser.type_and_inspect(DAMAGED)
        check(browser.text("#status") == "Damaged: base62: character '-' at offset 47 is not allowed",
              "damaged: " + browser.text("#status"))
        check(browser.text("#damage-position") == "character 47 of the pasted text (base62 layer)",
              "damaged: position " + browser.text("#damage-position"))
        highlighted = browser.script(
            "return ['recovered','bad','rest'].map(c => document.querySelector('#input-view .' + c).textContent);")
        check(highlighted == [DAMAGED[:47], "-", DAMAGED[48:]], f"damaged: the decoded part highlighted: {highlighted}")
        recovered = dict(browser.fields("#recovered"))
        check(recovered.get("Location") == "registry" and recovered.get("Decoded bytes") == "34",
              f"damaged: what was recovered: {recovered}")
        notes = browser.script("return Array.from(document.querySelectorAll('#notes li')).map(li => li.textContent);")
        check(any("invalid escape" in n for n in notes), f"damaged: the lenient decode's notes: {notes}")
        browser.screenshot("damaged-registration-token")

        # 3b. Damage after non-ASCII text: the service counts characters, the page's strings count
        # UTF-16 units (an emoji is one character and two units); the right character is marked.
        wide = '{"v":2,"l":"\U0001F600 caf\u00e9","i":"x","c":[],"s64":"bad!"}'
        bad_at = wide.index("!")
        browser.type_and_inspect(wide)
        check(browser.text("#damage-position") == f"character {bad_at} of the pasted text (json layer)",
              "non-ASCII: position " + browser.text("#damage-position"))
        highlighted = browser.script(
            "return ['recovered','bad','rest'].map(c => document.querySelector('#input-view .' + c).textContent);")
        check(highlighted == [wide[:bad_at], "!", wide[bad_at + 1:]], f"non-ASCII: the bad character highlighted: {highlighted}")
        wide_bad = DAMAGED[:47] + "\U0001F600" + DAMAGED[48:]
        browser.type_and_inspect(wide_bad)
        highlighted = browser.script(
            "return ['recovered','bad','rest'].map(c => document.querySelector('#input-view .' + c).textContent);")
        check(highlighted == [DAMAGED[:47], "\U0001F600", DAMAGED[48:]], f"non-ASCII: a 4-byte bad character kept whole: {highlighted}")

        # 4. Hostile text in a token is shown, never run.
        hostile = subprocess.run(
            [binary, "mint", "--key", "k", "--location", "<b>loc</b>",
             "--identifier", "<img src=x onerror=\"document.title='pwned'\">"],
            check=True, capture_output=True, text=True).stdout.strip()
        browser.type_and_inspect(hostile)
        shown = (browser.text("#identifier"), browser.text("#location"))
        check(shown == ("<img src=x onerror=\"document.title='pwned'\">", "<b>loc</b>"),
              f"hostile: markup shown as text: {shown}")
        check(browser.script("return document.title;") == "Token inspector · macaroon-mint"
              and browser.script("return document.querySelectorAll('main img, main b').length;") == 0,
              "hostile: no element made from the token, no script run")

        # Nothing pasted reached the log (the request lines name the route, not the body).
        browser.close()
        browser = None
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
        with open(os.path.join(work, "serve.log")) as f:
            log = f.read()
        check("route=/inspect status=200" in log, "the service logged its /inspect requests")
        check(all(t not in log for t in (token, registration, third_party, DAMAGED, wide, wide_bad, hostile, password)),
              "no pasted token (nor the admin's password) in the service's log")
    finally:
        if browser is not None:
            browser.close()
        for process in reversed(started):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(f"inspector_test: {len(failures)} failed: {failures}")
    print("inspector_test: all checks passed")


if __name__ == "__main__":
    main()
