#!/usr/bin/env python3
"""bench/table.py ROWS FACTS: the one table bench/run prints.

ROWS: "section scenario server req/s p50 p99 non2xx rss_kb pss_kb requests
cpu_ticks pg_ticks machine_busy_%" per wrk run (pg_ticks "-" off PostgreSQL);
FACTS: key=value lines (signing limits, scale start-up, …). With only the
replicas section's rows (ONLY=replicas), only its table; with
ONLY=client_credentials (fact only=client_credentials), the token table
and the ES256 target; with ONLY=stateful (fact only=stateful), the
replicas' table of the stateful grants (code redemption, refresh rotation,
password) and their targets.
"""
import sys

rows = []
with open(sys.argv[1]) as f:
    for line in f:
        fields = line.split()
        section, scenario, server, rps, p50, p99, non2xx, rss, pss, requests, ticks = fields[:11]
        pg_ticks, busy = (fields[11:13] + ["-", "-"])[:2]
        rows.append(dict(section=section, scenario=scenario, server=server, rps=float(rps),
                         p50=p50, p99=p99, non2xx=int(non2xx), rss=int(rss) / 1024, pss=int(pss) / 1024,
                         requests=int(requests), ticks=int(ticks),
                         pg_ticks=None if pg_ticks == "-" else int(pg_ticks),
                         busy=None if busy == "-" else int(busy)))
facts = {}
with open(sys.argv[2]) as f:
    for line in f:
        k, _, v = line.rstrip("\n").partition("=")
        facts[k] = v
clk_tck = int(facts.get("clk_tck") or 100)
for r in rows:
    # The server's own CPU time (user + system, all its processes) per request.
    r["cpu_us"] = r["ticks"] * 1e6 / clk_tck / max(r["requests"], 1)
    # PostgreSQL's backends (of the bench database) per request, and both.
    r["pg_us"] = None if r["pg_ticks"] is None else r["pg_ticks"] * 1e6 / clk_tck / max(r["requests"], 1)
    r["all_us"] = r["cpu_us"] + (r["pg_us"] or 0)
sign = float(facts.get("sign") or "nan")
sign_es256 = float(facts.get("sign_es256") or "nan")
# Argon2id alone (bench/argon2-ref, the server's parameters, 2 workers):
# hashes per second and CPU per hash, the password grant's limit.
argon2_n = int(facts.get("argon2_hashes") or 0)
argon2_rate = argon2_n / float(facts.get("argon2_seconds") or "nan") if argon2_n else float("nan")
argon2_us = float(facts.get("argon2_cpu_s") or "nan") * 1e6 / argon2_n if argon2_n else float("nan")


def sign_near(r):
    """The RSA signing limit measured right after r's scenario (bench/grants.sh
    `sign_after`) and "right after", else the one measured at the end of
    the run and "at the end"."""
    after = facts.get(f"sign_after.{r['scenario']}.{r['server']}")
    return (float(after), "right after") if after else (sign, "at the end")


def limit(r):
    """A stateful grant against what bounds it: the RSA signing limit (one
    access token signed per grant), or Argon2id alone (the password grant)."""
    near, when = sign_near(r)
    if r["scenario"] in ("authorization_code", "refresh_token") and near == near:  # not NaN: measured
        return f"{r['rps'] / near:.2f} of signing limit ({near:,.0f}/s, measured {when})"
    if r["scenario"] == "password" and argon2_n:
        return f"÷ Argon2id alone {r['rps'] / argon2_rate:.2f}; CPU per grant ÷ per hash {r['cpu_us'] / argon2_us:.2f}"
    return ""


def ms(wrk_time):
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if wrk_time.endswith(unit):
            return float(wrk_time[: -len(unit)]) * factor
    return float("nan")


def find(section, scenario, server):
    return next((r for r in rows if (r["section"], r["scenario"], r["server"]) == (section, scenario, server)), None)


def rps(section, scenario, server):
    r = find(section, scenario, server)
    return r["rps"] if r else float("nan")


def ratio(r):
    s, sc, sv = r["section"], r["scenario"], r["server"]
    if s == "token" and sv == "latchkey" and sc == "client_credentials_es256":
        return (f"ES256 ÷ RS256 {r['rps'] / rps('token', 'client_credentials', 'latchkey'):.2f}; "
                f"{r['rps'] / sign_es256:.2f} of ES256 signing limit")
    if s == "token" and sv == "latchkey":
        return f"{r['rps'] / sign:.2f} of signing limit" if sc == "client_credentials" else limit(r)
    if s == "token":
        return f"Latchkey ÷ this {rps('token', sc, 'latchkey') / r['rps']:.2f}"
    if s == "scale":
        empty = find("token", sc, "latchkey")
        return f"÷ empty directory {r['rps'] / empty['rps']:.2f}; CPU per request ÷ empty {r['cpu_us'] / empty['cpu_us']:.2f}"
    if sv == "latchkey" and sc == "malformed_token":
        return f"÷ no-auth baseline {r['rps'] / rps('api', 'no_auth', 'axum'):.2f}"
    if s == "api" and sv not in ("latchkey", "axum"):
        return f"Latchkey ÷ this {rps('api', sc, 'latchkey') / r['rps']:.2f}"
    return ""


titles = {"token": "The token endpoint", "api": "A protected API (GET /api/read)",
          "scale": f"Scale: {facts.get('scale', '')} (Latchkey)"}
head = f"{'scenario':<24} {'server':<16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'RSS MB':>7} {'PSS MB':>7} {'CPU µs':>7}  ratio"
for section in ("token", "api", "scale"):
    if not any(r["section"] == section for r in rows):
        continue
    print(f"\n{titles[section]}\n{head}")
    for r in rows:
        if r["section"] == section:
            print(f"{r['scenario']:<24} {r['server']:<16} {r['rps']:>9,.0f} {ms(r['p50']):>8.2f} {ms(r['p99']):>8.2f} "
                  f"{r['non2xx']:>8} {r['rss']:>7.1f} {r['pss']:>7.1f} {r['cpu_us']:>7.0f}  {ratio(r)}")


def replicas_ratio(r):
    """postgres-1 against sqlite-1, postgres-2 against postgres-1: req/s, and
    CPU per request (Latchkey's and PostgreSQL's backends together)."""
    against = {"postgres-1": ("sqlite-1", "PostgreSQL ÷ SQLite"), "postgres-2": ("postgres-1", "2 replicas ÷ 1")}
    parts = [limit(r)] if limit(r) else []
    o = find("replicas", r["scenario"], against[r["server"]][0]) if r["server"] in against else None
    if o:
        label = against[r["server"]][1]
        parts.append(f"{label} {r['rps'] / o['rps']:.2f} (CPU per request {r['all_us'] / o['all_us']:.2f})")
    return "; ".join(parts)


if any(r["section"] == "replicas" for r in rows):
    what = ("Stateful grants: one replica on SQLite, one on PostgreSQL" if facts.get("only") == "stateful"
            else "Replicas: one on SQLite, one and two on PostgreSQL")
    print(f"\n{what} {facts.get('pg', '')} "
          f"(synchronous_commit {facts.get('pg_sync', '?')}), the same directory file")
    print(f"{'scenario':<20} {'server':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'RSS MB':>7} "
          f"{'CPU µs':>7} {'PG µs':>6} {'PG tx':>6} {'cores':>5} {'wrk':>5} {'other':>5}  ratio")
    for r in rows:
        if r["section"] == "replicas":
            pg = "" if r["pg_us"] is None else f"{r['pg_us']:.0f}"
            xacts = facts.get(f"xacts.{r['scenario']}.{r['server']}")
            tx = "" if xacts is None else f"{int(xacts) / max(r['requests'], 1):.1f}"
            cores = r["all_us"] * r["rps"] / 1e6
            # wrk's CPU over its run (requests ÷ rate: a redemption run stops when the pool is out).
            wrk_s = float(facts.get(f"wrk_cpu_s.{r['scenario']}.{r['server']}", "nan"))
            wrk_cores = wrk_s / (r["requests"] / r["rps"])
            other = (r["busy"] or 0) / 100 * int(facts.get("cores", 2)) - cores - wrk_cores
            print(f"{r['scenario']:<20} {r['server']:<12} {r['rps']:>9,.0f} {ms(r['p50']):>8.2f} {ms(r['p99']):>8.2f} "
                  f"{r['non2xx']:>8} {r['rss']:>7.1f} {r['cpu_us']:>7.0f} {pg:>6} {tx:>6} {cores:>5.2f} {wrk_cores:>5.2f} "
                  f"{other:>5.2f}  {replicas_ratio(r)}")
    print("CPU µs: Latchkey's CPU time per request (both replicas' together for postgres-2); PG µs: the CPU time of "
          "PostgreSQL's backends for the bench database per request; PG tx: PostgreSQL transactions per request; "
          "cores: what Latchkey and those backends used of the machine's cores (CPU per request × req/s); wrk: what wrk "
          "used; other: the rest of the machine's busy time (everything else that ran, PostgreSQL's background "
          "processes included).")
    ran = [s for s in ("sqlite-1", "postgres-1", "postgres-2") if "codes." + s in facts]
    print("Authorization codes redeemed from pools of " + ", ".join(f"{facts['codes.' + s]} ({s})" for s in ran)
          + "; refresh tokens rotated from pools of "
          + ", ".join(f"{facts.get('refresh.' + s, '?')} ({s})" for s in ran))
    print(f"Load average (1, 5, 15 min) as the section started: {facts.get('load_before', '?')}; "
          f"as it ended: {facts.get('load_after', '?')}")


def target(label, value, want, fmt="{:.2f}", at_most=False):
    ok = value <= want if at_most else value >= want
    sign_ = "<=" if at_most else ">="
    print(f"  {label}: {fmt.format(value)} (target {sign_} {fmt.format(want)}) {'met' if ok else 'MISSED'}")


def stateful_targets():
    """Issue 18's targets for the grants that write to the store: SQLite
    from the demo tenant (or the SQLite replica with ONLY=stateful),
    PostgreSQL from the one PostgreSQL replica."""
    print(f"\nopenssl speed -multi 2 rsa2048: {sign:,.0f} signs/s; Argon2id alone "
          f"({facts.get('argon2_params', '?')}, 2 workers): {argon2_rate:,.1f} hashes/s, {argon2_us:,.0f} µs CPU per hash")
    print("Stateful grants, targets (issue 18):")
    for engine, want, r_of in (
        ("SQLite", 0.6, lambda sc: find("token", sc, "latchkey") or find("replicas", sc, "sqlite-1")),
        ("PostgreSQL", 0.5, lambda sc: find("replicas", sc, "postgres-1")),
    ):
        for sc in ("authorization_code", "refresh_token"):
            r = r_of(sc)
            if r:
                near, when = sign_near(r)
                target(f"{sc} on {engine} ÷ the signing limit measured {when} ({near:,.0f}/s; "
                       f"÷ the one at the end: {r['rps'] / sign:.2f})", r["rps"] / near, want)
        r = r_of("password")
        if r:
            print(f"  password on {engine}: {r['rps']:,.1f} grants/s, ÷ Argon2id alone {r['rps'] / argon2_rate:.2f} "
                  f"(CPU per grant {r['cpu_us']:,.0f} µs, ÷ per hash {r['cpu_us'] / argon2_us:.2f})")


def sign_in_log_table():
    """Issue 19: the sign-in log on ÷ off, same run, each the mean of its
    two rounds."""
    rs = [r for r in rows if r["section"] == "sign_in_log"]
    if not rs:
        return
    print(f"\nThe sign-in log, on and off\n{head}")
    for r in rs:
        print(f"{r['scenario']:<24} {r['server']:<16} {r['rps']:>9,.0f} {ms(r['p50']):>8.2f} {ms(r['p99']):>8.2f} "
              f"{r['non2xx']:>8} {r['rss']:>7.1f} {r['pss']:>7.1f} {r['cpu_us']:>7.0f}")
    print("Sign-in log, targets (issue 19):")
    for sc in ("client_credentials", "invalid_client"):
        def mean(state):
            got = [r["rps"] for r in rs if r["scenario"] == sc and r["server"].startswith(f"log-{state}-")]
            return sum(got) / len(got) if got else float("nan")
        target(f"{sc} with the log on ÷ off (mean of the rounds)", mean("on") / mean("off"), 0.95)
    answered = sum(r["requests"] for r in rs if r["server"].startswith("log-on-"))
    kept = int(facts.get("sign_in_log_rows") or 0)
    print(f"  records kept by the log-on server: {kept:,} of {answered:,} requests wrk counted "
          f"({kept / max(answered, 1):.2f}; the rest dropped with the queue full); the log-off server kept {facts.get('sign_in_log_rows_off')}")


if facts.get("only") == "sign_in_log":
    sign_in_log_table()
    print("CPU µs: the server's CPU time (user + system, all its processes) per request; wrk takes the rest of the machine.")
    print(facts.get("conditions", ""))
    sys.exit(0)
if facts.get("only") == "stateful":
    stateful_targets()
    if facts.get("no_pg"):
        print("No PostgreSQL: SQLite only.")
    print(facts.get("conditions", ""))
    sys.exit(0)
if not any(r["section"] == "token" for r in rows):
    print(facts.get("conditions", ""))
    sys.exit(0)


# The password grant is left out: Argon2id is memory-hard by design (19 MiB
# per hash in flight), its row shows what that costs.
lk_mem = max(r["rss"] for r in rows
             if r["server"] == "latchkey" and r["section"] == "token" and r["scenario"] != "password")
print(f"\nopenssl speed -multi 2 rsa2048: {sign:,.0f} signs/s; ecdsap256: {sign_es256:,.0f} signs/s")
print("Targets:")
cc = rps("token", "client_credentials", "latchkey")
target("client_credentials ES256 ÷ RS256, same run", rps("token", "client_credentials_es256", "latchkey") / cc, 5)
if facts.get("only") == "client_credentials":
    print("CPU µs: the server's CPU time (user + system, all its processes) per request; wrk takes the rest of the machine.")
    print(facts.get("conditions", ""))
    sys.exit(0)
target("client_credentials ÷ node-oidc-provider", cc / rps("token", "client_credentials", "oidc-provider"), 3)
target("client_credentials ÷ openssl two-process RSA-2048 sign rate", cc / sign, 0.75)
target("invalid_client ÷ node-oidc-provider", rps("token", "invalid_client", "latchkey") / rps("token", "invalid_client", "oidc-provider"), 8)
target("invalid_client req/s", rps("token", "invalid_client", "latchkey"), 40000, "{:,.0f}")
target("Latchkey peak RSS under load (the password grant aside), MB", lk_mem, 30, "{:.1f}", at_most=True)
big_mem = [r["rss"] for r in rows if r["section"] == "scale"]
if big_mem:
    target("Latchkey peak RSS under load, large directory, MB", max(big_mem), 30, "{:.1f}", at_most=True)
target("client_credentials, large directory ÷ empty", rps("scale", "client_credentials", "latchkey-scale") / cc, 0.9)
big, empty = find("scale", "client_credentials", "latchkey-scale"), find("token", "client_credentials", "latchkey")
if big and empty:
    target("client_credentials, large directory CPU per token ÷ empty", big["cpu_us"] / empty["cpu_us"], 1.1, at_most=True)
target("demo-api ÷ jwt-authorizer, same token", rps("api", "same_token", "latchkey") / rps("api", "same_token", "jwt-authorizer"), 1.5)
target("demo-api malformed-token rejections ÷ no-auth baseline",
       rps("api", "malformed_token", "latchkey") / rps("api", "no_auth", "axum"), 0.8)
print(f"Latchkey VmHWM since start: {int(facts.get('hwm_kb', 0)) / 1024:.1f} MB (includes the Argon2id blocks of hashing the demo passwords)")
print(f"Large directory: start-up {facts.get('scale_start_s')} s (with the directory file applied to the store), idle RSS {int(facts.get('scale_idle_kb', 0)) / 1024:.1f} MB, "
      f"store {facts.get('scale_db_mb')} MB on disk")
print(f"Authorization codes redeemed from pools of {facts.get('codes.latchkey')} (demo) and {facts.get('codes.latchkey-scale')} (large directory); "
      f"refresh tokens rotated from a pool of {facts.get('refresh.latchkey')} (demo)")
stateful_targets()
print("CPU µs: the server's CPU time (user + system, all its processes) per request; wrk takes the rest of the machine.")
print(f"RSS sums VmRSS over a server's processes; PSS shares their common pages out. {facts.get('conditions', '')}")
