#!/usr/bin/env python3
"""Bounded loopback load on a running `macaroon-mint serve` (admin admin:password), e.g.

    MACAROON_MINT_ADMIN=admin:password macaroon-mint serve --listen 127.0.0.1:18090 \
        --quota-named-tokens 0 --login-rate-per-ip 0 --login-rate-per-user 0 &
    scripts/load_test.py 18090

(It mints 4,000 named invites and logs in 200 times with a password: lift the quota and the
login rate limits, which would otherwise answer 403 and 429.)

Sends a fixed number of requests (4,000 / 2,000 / 2,000 / 200) over 4 keep-alive connections to
127.0.0.1 only, and prints requests per second and the median latency of each kind. The client is
Python, so the fastest figures are partly the client's limit."""
import base64, http.client, json, statistics, sys, threading, time
host, port = "127.0.0.1", int(sys.argv[1])
def conn(): return http.client.HTTPConnection(host, port, timeout=30)
def req(c, method, path, headers=None, body=None):
    h = dict(headers or {}); 
    if body is not None: h["Content-Type"]="application/json"; body=json.dumps(body)
    c.request(method, path, body=body, headers=h); r=c.getresponse(); data=r.read(); return r.status, data
basic = {"Authorization": "Basic " + base64.b64encode(b"admin:password").decode()}
c = conn()
st, d = req(c, "GET", "/api/v3/onezone/user", basic); uid = json.loads(d)["userId"]
st, d = req(c, "POST", "/api/v3/onezone/user/spaces", basic, {"name": "load space"}); sid = json.loads(d)["id"]
now = int(time.time())
def temporary(caveats):
    st, d = req(c, "POST", "/api/v3/onezone/user/tokens/temporary", basic, {"caveats": [{"type":"time","validUntil":now+3600}] + caveats})
    return json.loads(d)["token"]
# Three typed caveats checked per request; an invite cannot carry `interface`, so the minting
# runs use a token with the invite-compatible two (a token never mints a broader one).
tok = temporary(["ip = 127.0.0.0/8", "interface = rest"])
mint_tok = temporary(["ip = 127.0.0.0/8"])
def run(label, n, threads, method, path, headers):
    lat = []; errors = [0]; lock = threading.Lock()
    per = n // threads
    def work():
        c = conn(); mine = []
        for _ in range(per):
            t0 = time.perf_counter(); st, _ = req(c, method, path, headers); mine.append(time.perf_counter()-t0)
            if st not in (200, 201): errors[0] += 1
        with lock: lat.extend(mine)
    ts = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.perf_counter(); [t.start() for t in ts]; [t.join() for t in ts]; el = time.perf_counter()-t0
    print(f"{label}: {len(lat)} requests, {threads} connections: {len(lat)/el:,.0f} req/s, median {statistics.median(lat)*1e3:.2f} ms, non-2xx {errors[0]}")
tokh = {"X-Auth-Token": tok}
minth = {"X-Auth-Token": mint_tok}
run("GET /user, token auth", 4000, 4, "GET", "/api/v3/onezone/user", tokh)
run("POST ssp token, token auth", 2000, 4, "POST", f"/api/v3/onezone/spaces/{sid}/providers/token", minth)
run("POST rop token, token auth", 2000, 4, "POST", f"/api/v3/onezone/users/{uid}/clusters/provider_registration_token", minth)
run("POST ssp token, basic auth (Argon2id)", 200, 4, "POST", f"/api/v3/onezone/spaces/{sid}/providers/token", basic)
