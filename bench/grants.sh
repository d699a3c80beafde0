# Sourced by bench/run (its variables and its `bench`, `expect`, `enc`,
# `fact` and `say`): the grants that write to the store, each from a pool
# used once, the password grant, and Argon2id alone.

# codes_bench SECTION SCENARIO SERVER PID BASE TENANT CLIENT SECRET USER PASSWORD:
# signs USER in, mints a pool of codes for DURATION seconds, redeems each
# once, and keeps the refresh tokens of the answers in $OUT/refresh.SERVER
# (refresh_bench's pool).
codes_bench() {
  local section=$1 scenario=$2 server=$3 pid=$4 base=$5 tenant=$6 client=$7 secret=$8 user=$9 password=${10}
  local authorize="$base/$tenant/oauth2/authorize?client_id=$client&response_type=code&redirect_uri=$(enc "$WEB_CALLBACK")&resource=$(enc "$RESOURCE")&scope=Files.Read"
  local cookie pool="$OUT/codes.$server"
  cookie=$(python3 bench/signin.py "$authorize" "$user" "$password")
  rm -f "$pool".*
  CODES=$pool COOKIE=$cookie wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s bench/lua/mint-codes.lua "$authorize" >"$OUT/mint.$server.wrk"
  cat "$pool".* >"$pool"
  local body="grant_type=authorization_code&client_id=$client&client_secret=$(enc "$secret")&redirect_uri=$(enc "$WEB_CALLBACK")"
  expect 200 "redeeming a code" "$base/$tenant/oauth2/token" -d "$body&code=$(head -1 "$pool")"
  expect 400 "redeeming a code twice" "$base/$tenant/oauth2/token" -d "$body&code=$(head -1 "$pool")"
  sed -i 1d "$pool"
  fact "codes.$server" "$(wc -l <"$pool")"
  say "  $(wc -l <"$pool") codes minted"
  rm -f "$OUT/refresh.$server"*
  REFRESH_TOKENS=$OUT/refresh.$server CODES=$pool BODY=$body THREADS=$THREADS \
    bench "$section" "$scenario" "$server" "$pid" "$base/$tenant/oauth2/token" -s bench/lua/redeem-codes.lua
  sign_after "$scenario.$server"
  cat "$OUT/refresh.$server".* >"$OUT/refresh.$server"
}

# refresh_bench SECTION SCENARIO SERVER PID BASE TENANT CLIENT SECRET: rotates
# each refresh token codes_bench kept (one family each) once.
refresh_bench() {
  local section=$1 scenario=$2 server=$3 pid=$4 base=$5 tenant=$6 client=$7 secret=$8
  local pool="$OUT/refresh.$server" url="$base/$tenant/oauth2/token"
  local body="grant_type=refresh_token&client_id=$client&client_secret=$(enc "$secret")"
  [ -s "$pool" ] || { say "no refresh tokens kept from $server's redemptions"; exit 1; }
  expect 200 "rotating a refresh token" "$url" -d "$body&refresh_token=$(head -1 "$pool")"
  sed -i 1d "$pool"
  fact "refresh.$server" "$(wc -l <"$pool")"
  say "  $(wc -l <"$pool") refresh tokens to rotate"
  TOKENS=$pool BODY=$body THREADS=$THREADS bench "$section" "$scenario" "$server" "$pid" "$url" -s bench/lua/rotate-refresh.lua
  sign_after "$scenario.$server"
}

# sign_after NAME: the RSA signing limit again (3 s), right after a grant
# scenario, as the fact sign_after.NAME. This VM's speed drifts by 10 % and
# more within minutes (the same binary's CPU per grant moved from 504 to
# 672 µs between runs), so each grant's ratio is taken against the limit
# measured next to it, not only against the one measured at the end.
sign_after() {
  openssl speed -multi 2 -seconds 3 rsa2048 >"$OUT/openssl.$1.txt" 2>/dev/null
  fact "sign_after.$1" "$(rsa_rate "$OUT/openssl.$1.txt")"
}

# password_bench SECTION SCENARIO SERVER PID BASE TENANT CLIENT SECRET USER
# PASSWORD: the password grant, PASSWORD_CONNECTIONS connections (the
# server must be started with a per-address burst that does not throttle
# wrk: --password-burst-per-ip).
password_bench() {
  local section=$1 scenario=$2 server=$3 pid=$4 base=$5 tenant=$6 client=$7 secret=$8 user=$9 password=${10}
  local url="$base/$tenant/oauth2/token"
  local body="grant_type=password&client_id=$client&client_secret=$(enc "$secret")&username=$(enc "$user")&password=$(enc "$password")&resource=$(enc "$RESOURCE")&scope=Files.Read"
  expect 200 "the password grant" "$url" -d "$body"
  BODY=$body CONNECTIONS=$PASSWORD_CONNECTIONS bench "$section" "$scenario" "$server" "$pid" "$url" -s "$OUT/post.lua"
}
# The password checks bench/run's servers let one address start before
# holding it to one every 100 ms: wrk is one address.
PASSWORD_BURST=1000000

# Argon2id alone, the server's parameters and crate, on 2 workers for
# DURATION seconds (bench/argon2-ref): the password grant's limit.
argon2_limit() {
  say "measuring Argon2id alone (bench/argon2-ref, 2 workers)…"
  local TIMEFORMAT='%U %S'
  { time ./target/bench-peers/release/argon2-ref 2 "$DURATION" >"$OUT/argon2.txt"; } 2>"$OUT/argon2-cpu.txt"
  fact argon2_hashes "$(sed -n 's/.*hashes=\([0-9]*\).*/\1/p' "$OUT/argon2.txt")"
  fact argon2_seconds "$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$OUT/argon2.txt")"
  fact argon2_params "$(sed -n 's/.*params=\([^ ]*\).*/\1/p' "$OUT/argon2.txt")"
  fact argon2_cpu_s "$(awk '{print $1 + $2}' "$OUT/argon2-cpu.txt")"
}
