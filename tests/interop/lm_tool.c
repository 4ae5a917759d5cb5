/* lm_tool: a tiny command-line driver for libmacaroons 0.3.0 (Debian bookworm `libmacaroons-dev`),
 * used by libmacaroons_interop.sh. Build:
 *
 *     cc -O2 -Wall -rdynamic -o lm_tool tests/interop/lm_tool.c $(pkg-config --cflags --libs libmacaroons) -ldl
 *
 * Usage (KEY arguments are text, or `hex:` followed by hex digits for arbitrary bytes; TOKEN
 * arguments are v1 base64 text, or `-` to read it from stdin):
 *
 *     lm_tool mint LOCATION KEY IDENTIFIER [CAVEAT]...      prints the v1 token
 *     lm_tool add-first TOKEN CAVEAT...                      prints the attenuated token
 *     lm_tool add-third TOKEN LOCATION CAVEAT_KEY CAVEAT_ID  prints the token (random nonce)
 *     lm_tool prepare ROOT DISCHARGE                         prints the discharge bound to ROOT
 *     lm_tool verify KEY TOKEN [-e EXACT]... [-d DISCHARGE]...   "valid" (0) / "invalid: ..." (1)
 *     lm_tool inspect TOKEN                                  LM's inspect text (signature in hex)
 *     lm_tool check TOKEN                                    only the safety pre-check below
 *
 * With LM_TOOL_ZERO_NONCE=1 in the environment, third-party caveats get a 24-byte zero nonce (the
 * SPEC TV2 "test shim whose random source returns zeros"): this executable defines
 * randombytes_buf(), which libmacaroons imports from libsodium, and exports it (-rdynamic) so the
 * dynamic linker binds libmacaroons' call to it; otherwise it forwards to libsodium's.
 *
 * Exit status: 0 ok/valid, 1 invalid (verify) or LM refused the input, 2 usage, 3 the input was
 * refused by our pre-check (never handed to LM).
 *
 * libmacaroons 0.3.0 defects (SPEC §15) this tool guards against: every token is first decoded
 * and its packet structure walked HERE, and handed to macaroon_deserialize() only if
 *   - every packet header is 4 hex digits, at least 4 + len(key) + 2 and within the data
 *     (a `0000` header makes LM 0.3.0 loop forever),
 *   - every packet ends in LF and has a known key,
 *   - every vid is exactly 72 bytes (a short vid makes LM abort on an assert),
 *   - the last packet is a 32-byte signature (v1 text without a signature packet makes LM
 *     0.3.0 crash with SIGSEGV).
 * Also: this Debian build has no JSON support (macaroon_serialize_json returns
 * MACAROON_NO_JSON_SUPPORT), so only v1 text is exercised.
 */
#define _GNU_SOURCE
#include <macaroons.h>

#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* nonce source override (see the header comment) */
void randombytes_buf(void *const buf, const size_t size) {
    const char *z = getenv("LM_TOOL_ZERO_NONCE");
    if (z && *z && strcmp(z, "0") != 0) {
        memset(buf, 0, size);
        return;
    }
    void (*real)(void *const, const size_t) = (void (*)(void *const, const size_t))dlsym(RTLD_NEXT, "randombytes_buf");
    if (!real) {
        fprintf(stderr, "lm_tool: cannot find libsodium's randombytes_buf\n");
        abort();
    }
    real(buf, size);
}

static const char *rc_name(enum macaroon_returncode e) {
    switch (e) {
    case MACAROON_SUCCESS: return "success";
    case MACAROON_OUT_OF_MEMORY: return "out of memory";
    case MACAROON_HASH_FAILED: return "hash failed";
    case MACAROON_INVALID: return "invalid";
    case MACAROON_TOO_MANY_CAVEATS: return "too many caveats";
    case MACAROON_CYCLE: return "cycle";
    case MACAROON_BUF_TOO_SMALL: return "buffer too small";
    case MACAROON_NOT_AUTHORIZED: return "not authorized";
    case MACAROON_NO_JSON_SUPPORT: return "no JSON support";
    }
    return "unknown error";
}

static void die(int code, const char *fmt, const char *arg) {
    fprintf(stderr, "lm_tool: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(code);
}

/* ---- input helpers ---- */

static char *read_stdin(void) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    if (!buf) die(2, "%s", "out of memory");
    while ((n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) die(2, "%s", "out of memory");
        }
    }
    buf[len] = 0;
    return buf;
}

static char *token_arg(const char *a) {
    char *t = strcmp(a, "-") == 0 ? read_stdin() : strdup(a);
    /* trim surrounding whitespace */
    char *s = t;
    while (*s && isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    memmove(t, s, n + 1);
    return t;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* KEY argument: text, or hex:HEX */
static unsigned char *key_arg(const char *a, size_t *len) {
    if (strncmp(a, "hex:", 4) == 0) {
        const char *h = a + 4;
        size_t n = strlen(h);
        if (n % 2) die(2, "odd hex key: %s", a);
        unsigned char *k = malloc(n / 2 + 1);
        for (size_t i = 0; i < n / 2; i++) {
            int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
            if (hi < 0 || lo < 0) die(2, "bad hex key: %s", a);
            k[i] = (unsigned char)(hi * 16 + lo);
        }
        *len = n / 2;
        return k;
    }
    *len = strlen(a);
    return (unsigned char *)strdup(a);
}

/* base64 (either alphabet, padding optional, whitespace skipped) -> bytes; -1 on error */
static long b64decode(const char *in, unsigned char **out) {
    size_t n = strlen(in);
    unsigned char *o = malloc(n + 4);
    unsigned acc = 0;
    int bits = 0;
    long len = 0;
    int pad = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i], v;
        if (isspace(c)) continue;
        if (c == '=') { pad = 1; continue; }
        if (pad) { free(o); return -1; }
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+' || c == '-') v = 62;
        else if (c == '/' || c == '_') v = 63;
        else { free(o); return -1; }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[len++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    *out = o;
    return len;
}

/* The safety pre-check (see the header comment). Returns NULL if safe, else the reason. */
static const char *precheck(const char *token, char *why, size_t why_sz) {
    unsigned char *d = NULL;
    long n = b64decode(token, &d);
    if (n < 0) return "not base64";
    if (n == 0) { free(d); return "empty"; }
    if (d[0] == '{') { free(d); return "JSON (this libmacaroons build has no JSON support)"; }
    if (d[0] == 0x02) { free(d); return "v2 binary (libmacaroons 0.3.0 is v1 only)"; }
    long i = 0;
    int saw_sig = 0, saw_id = 0;
    while (i < n) {
        if (saw_sig) { snprintf(why, why_sz, "bytes after the signature packet at byte %ld", i); free(d); return why; }
        if (n - i < 4) { snprintf(why, why_sz, "truncated header at byte %ld", i); free(d); return why; }
        long len = 0;
        for (int k = 0; k < 4; k++) {
            int v = hexval(d[i + k]);
            if (v < 0) { snprintf(why, why_sz, "header at byte %ld is not 4 hex digits", i); free(d); return why; }
            len = len * 16 + v;
        }
        if (len > n - i) { snprintf(why, why_sz, "packet at byte %ld declares %ld bytes, %ld remain", i, len, n - i); free(d); return why; }
        const unsigned char *p = d + i + 4;
        long plen = len - 4;
        const unsigned char *sp = plen > 0 ? memchr(p, ' ', (size_t)plen) : NULL;
        if (!sp || len < 4 + (sp - p) + 2) { snprintf(why, why_sz, "packet at byte %ld: bad length %ld / no key", i, len); free(d); return why; }
        if (p[plen - 1] != '\n') { snprintf(why, why_sz, "packet at byte %ld does not end in LF", i); free(d); return why; }
        long klen = sp - p, vlen = plen - klen - 2;
        if (klen == 3 && !memcmp(p, "vid", 3) && vlen != 72) { snprintf(why, why_sz, "vid at byte %ld is %ld bytes, not 72", i, vlen); free(d); return why; }
        if (klen == 9 && !memcmp(p, "signature", 9)) {
            if (vlen != 32) { snprintf(why, why_sz, "signature is %ld bytes, not 32", vlen); free(d); return why; }
            saw_sig = 1;
        } else if (klen == 10 && !memcmp(p, "identifier", 10)) {
            saw_id = 1;
        } else if (!((klen == 8 && !memcmp(p, "location", 8)) || (klen == 3 && !memcmp(p, "cid", 3)) ||
                     (klen == 3 && !memcmp(p, "vid", 3)) || (klen == 2 && !memcmp(p, "cl", 2)))) {
            snprintf(why, why_sz, "unknown packet key at byte %ld", i); free(d); return why;
        }
        i += len;
    }
    free(d);
    if (!saw_id) return "no identifier packet";
    if (!saw_sig) return "no signature packet";
    return NULL;
}

static struct macaroon *load(const char *arg) {
    char why[160];
    char *t = token_arg(arg);
    const char *bad = precheck(t, why, sizeof why);
    if (bad) {
        fprintf(stderr, "lm_tool: refused (not handed to libmacaroons): %s\n", bad);
        exit(3);
    }
    enum macaroon_returncode err = MACAROON_SUCCESS;
    struct macaroon *M = macaroon_deserialize(t, &err);
    free(t);
    if (!M) {
        fprintf(stderr, "lm_tool: macaroon_deserialize: %s\n", rc_name(err));
        exit(1);
    }
    return M;
}

static void print_token(const struct macaroon *M) {
    enum macaroon_returncode err = MACAROON_SUCCESS;
    size_t sz = macaroon_serialize_size_hint(M);
    char *buf = malloc(sz + 1);
    if (macaroon_serialize(M, buf, sz, &err) < 0) die(1, "macaroon_serialize: %s", rc_name(err));
    printf("%s\n", buf);
    free(buf);
}

static int exact_check(void *f, const unsigned char *pred, size_t pred_sz) {
    (void)f; (void)pred; (void)pred_sz;
    return -1;
}

int main(int argc, char **argv) {
    enum macaroon_returncode err = MACAROON_SUCCESS;
    if (argc < 2) die(2, "%s", "usage: lm_tool mint|add-first|add-third|prepare|verify|inspect|check ...");
    const char *cmd = argv[1];

    if (!strcmp(cmd, "mint") && argc >= 5) {
        size_t klen;
        unsigned char *key = key_arg(argv[3], &klen);
        struct macaroon *M = macaroon_create((const unsigned char *)argv[2], strlen(argv[2]), key, klen,
                                             (const unsigned char *)argv[4], strlen(argv[4]), &err);
        if (!M) die(1, "macaroon_create: %s", rc_name(err));
        for (int i = 5; i < argc; i++) {
            struct macaroon *N = macaroon_add_first_party_caveat(M, (const unsigned char *)argv[i], strlen(argv[i]), &err);
            if (!N) die(1, "macaroon_add_first_party_caveat: %s", rc_name(err));
            macaroon_destroy(M);
            M = N;
        }
        print_token(M);
        return 0;
    }
    if (!strcmp(cmd, "add-first") && argc >= 4) {
        struct macaroon *M = load(argv[2]);
        for (int i = 3; i < argc; i++) {
            struct macaroon *N = macaroon_add_first_party_caveat(M, (const unsigned char *)argv[i], strlen(argv[i]), &err);
            if (!N) die(1, "macaroon_add_first_party_caveat: %s", rc_name(err));
            macaroon_destroy(M);
            M = N;
        }
        print_token(M);
        return 0;
    }
    if (!strcmp(cmd, "add-third") && argc == 6) {
        struct macaroon *M = load(argv[2]);
        size_t klen;
        unsigned char *key = key_arg(argv[4], &klen);
        struct macaroon *N = macaroon_add_third_party_caveat(M, (const unsigned char *)argv[3], strlen(argv[3]), key, klen,
                                                             (const unsigned char *)argv[5], strlen(argv[5]), &err);
        if (!N) die(1, "macaroon_add_third_party_caveat: %s", rc_name(err));
        print_token(N);
        return 0;
    }
    if (!strcmp(cmd, "prepare") && argc == 4) {
        struct macaroon *R = load(argv[2]);
        struct macaroon *D = load(argv[3]);
        struct macaroon *B = macaroon_prepare_for_request(R, D, &err);
        if (!B) die(1, "macaroon_prepare_for_request: %s", rc_name(err));
        print_token(B);
        return 0;
    }
    if (!strcmp(cmd, "verify") && argc >= 4) {
        size_t klen;
        unsigned char *key = key_arg(argv[2], &klen);
        struct macaroon *M = load(argv[3]);
        struct macaroon_verifier *V = macaroon_verifier_create();
        struct macaroon **ds = calloc((size_t)argc, sizeof *ds);
        size_t nd = 0;
        for (int i = 4; i < argc; i++) {
            if (!strcmp(argv[i], "-e") && i + 1 < argc) {
                i++;
                if (macaroon_verifier_satisfy_exact(V, (const unsigned char *)argv[i], strlen(argv[i]), &err) < 0)
                    die(1, "satisfy_exact: %s", rc_name(err));
            } else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
                ds[nd++] = load(argv[++i]);
            } else {
                die(2, "bad verify argument: %s", argv[i]);
            }
        }
        /* a general checker that accepts nothing (exercises LM's "any satisfier" path) */
        macaroon_verifier_satisfy_general(V, exact_check, NULL, &err);
        err = MACAROON_SUCCESS;
        int r = macaroon_verify(V, M, key, klen, ds, nd, &err);
        if (r == 0) {
            printf("valid\n");
            return 0;
        }
        printf("invalid: %s\n", rc_name(err));
        return 1;
    }
    if (!strcmp(cmd, "inspect") && argc == 3) {
        struct macaroon *M = load(argv[2]);
        size_t sz = macaroon_inspect_size_hint(M);
        char *buf = malloc(sz + 1);
        if (macaroon_inspect(M, buf, sz, &err) < 0) die(1, "macaroon_inspect: %s", rc_name(err));
        printf("%s\n", buf);
        return 0;
    }
    if (!strcmp(cmd, "check") && argc == 3) {
        char why[160];
        char *t = token_arg(argv[2]);
        const char *bad = precheck(t, why, sizeof why);
        if (bad) {
            printf("refused: %s\n", bad);
            return 3;
        }
        printf("ok\n");
        return 0;
    }
    die(2, "bad command or arguments: %s", cmd);
    return 2;
}
